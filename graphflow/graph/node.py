"""Node: one op applied to input tensors, made once (hash-consed) with its user-code site.

Identical nodes (same op, same inputs) are merged as they are built, so common
subexpressions cost nothing and ``structural_hash`` can key compile caches. Random and
collective ops are never merged.
"""
from __future__ import annotations

import itertools
import os
import sys
import threading
import weakref

from .errors import GraphError
from .scope import current_scope
from .types import TensorType

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INTERNAL = (_PKG_DIR + os.sep,
             os.path.join(os.path.dirname(_PKG_DIR), "backends") + os.sep,
             os.path.dirname(os.__file__) + os.sep)  # graphflow, its backends, the stdlib
_interned: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()
_lock = threading.Lock()
_ids = itertools.count()
_name_counts: dict = {}


def user_site() -> str:
    """``file:line`` of the innermost frame outside graphflow (where the user made a node)."""
    frame = sys._getframe(1)
    while frame is not None:
        fname = frame.f_code.co_filename
        if not fname.startswith(_INTERNAL) and not fname.startswith("<frozen"):
            return f"{fname}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def unique_name(base: str) -> str:
    with _lock:
        n = _name_counts.get(base, 0)
        _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def scoped(name: str) -> str:
    scope = current_scope()
    return f"{scope}/{name}" if scope else name


class Node:
    """``outputs = op(*inputs)``, plus where and in which scope it was made."""

    __slots__ = ("op", "inputs", "outputs", "site", "scope", "name", "id", "tags", "__weakref__")

    def __init__(self, op, inputs, out_types, site, scope, name, tags=None):
        from .tensor import Tensor
        self.op = op
        self.inputs = tuple(inputs)
        self.site = site
        self.scope = scope
        self.name = name
        self.id = next(_ids)
        self.tags = dict(tags or {})
        self.outputs = tuple(Tensor(t, self, i) for i, t in enumerate(out_types))

    def where(self) -> str:
        scope = f" in scope `{self.scope}`" if self.scope else ""
        return f"{self.op.op_name()}{scope}, made at {self.site}"

    def __repr__(self):
        return f"<Node {self.name}: {self.op.label()}>"


def _describe(inputs) -> str:
    return ", ".join(str(t.type) for t in inputs)


def build_error(label: str, exc: Exception, inputs) -> GraphError:
    """The one format of build-time errors: op, scope, the user's ``file:line``, the
    problem, and the input types: ``add in scope `blk`, made at net.py:7: shapes (?, 3),
    (4,) do not broadcast (inputs: float32(?, 3), float32(4,))``."""
    scope = current_scope()
    where = f" in scope `{scope}`" if scope else ""
    return GraphError(f"{label}{where}, made at {user_site()}: {exc} (inputs: {_describe(inputs)})")


def apply(op, inputs, name=None, tags=None):
    """Build (or find) the node ``op(*inputs)`` and return its output tensors."""
    from .tensor import Tensor
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise GraphError(f"{op.op_name()}: input {i} must be a graphflow Tensor, got {type(t).__name__}"
                             f" (made at {user_site()})")
    inputs = tuple(inputs)
    key = None if op.random or op.collective else (op, inputs)
    if key is not None:
        found = _interned.get(key)
        if found is not None:
            return found.outputs
    try:
        out = op.infer(*[t.type for t in inputs])
    except (ValueError, TypeError) as exc:
        raise build_error(op.label(), exc, inputs) from None
    out_types = [out] if isinstance(out, TensorType) else list(out)
    node = Node(op, inputs, out_types, user_site(), current_scope(),
                unique_name(scoped(name or op.op_name())), tags)
    if key is not None:
        _interned[key] = node
    return node.outputs
