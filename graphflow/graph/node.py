"""Node: one op applied to input tensors, made once (hash-consed) with its user-code site.

Identical nodes (same op, same inputs) are merged as they are built, so common
subexpressions cost nothing and ``structural_hash`` can key compile caches. Random and
collective ops are never merged.

The user's graph is read-only to the compiler: while a ``Workspace`` is active (the
compiler activates one per compilation) every node made goes into the workspace's own
merge table and takes its name, site and scope from the node being rewritten, never from
the user's tables or name counters. A user who later builds the same expression gets a
node of their own.

Lifetimes: the merge table holds nodes weakly, and a name's counter is forgotten once no
live node or source carries that name, so building graphs in a loop does not grow them.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
import weakref

from .errors import GraphError
from .names import check_path
from .scope import current_scope
from .types import TensorType

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INTERNAL = (_PKG_DIR + os.sep,
             os.path.join(os.path.dirname(_PKG_DIR), "backends") + os.sep,
             os.path.dirname(os.__file__) + os.sep)  # graphflow, its backends, the stdlib
_interned: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()
_lock = threading.Lock()


def user_site() -> str:
    """``file:line`` of the innermost frame outside graphflow (where the user made a node)."""
    frame = sys._getframe(1)
    while frame is not None:
        fname = frame.f_code.co_filename
        if not fname.startswith(_INTERNAL) and not fname.startswith("<frozen"):
            return f"{fname}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


class Names:
    """Unique names among the live objects that carry them: ``base``, ``base_1``, ...

    Counters of bases no live object carries any more are dropped from time to time, so
    the table stays as large as the live graphs, not as the process's history."""

    def __init__(self):
        self.counts: dict = {}
        self.holders: "weakref.WeakSet" = weakref.WeakSet()
        self._prune_at = 1024

    def unique(self, base: str, holder=None) -> str:
        with _lock:
            n = self.counts.get(base, 0)
            self.counts[base] = n + 1
            if holder is not None:
                self.holders.add(holder)
            if len(self.counts) > self._prune_at:
                self._prune()
        return base if n == 0 else f"{base}_{n}"

    def _prune(self):
        alive = {h.base for h in self.holders}
        self.counts = {b: n for b, n in self.counts.items() if b in alive}
        self._prune_at = max(1024, 2 * len(self.counts))


_names = Names()


def unique_name(base: str, holder=None) -> str:
    """A name no live node or source has: ``base`` itself, else ``base_N``."""
    return _names.unique(base, holder)


def scoped(name: str) -> str:
    scope = current_scope()
    return f"{scope}/{name}" if scope else name


class Node:
    """``outputs = op(*inputs)``, plus where and in which scope it was made.

    ``name`` is unique among live nodes; ``base`` is the name as asked for (scope path
    plus the given name or the op's), which is what pictures show."""

    __slots__ = ("op", "inputs", "outputs", "site", "scope", "base", "name", "tags", "__weakref__")

    def __init__(self, op, inputs, out_types, site, scope, base, name, tags=None):
        from .tensor import Tensor
        self.op = op
        self.inputs = tuple(inputs)
        self.site = site
        self.scope = scope
        self.base = base
        self.name = name
        self.tags = dict(tags or {})
        self.outputs = tuple(Tensor(t, self, i) for i, t in enumerate(out_types))

    def where(self) -> str:
        scope = f" in scope `{self.scope}`" if self.scope else ""
        return f"{self.op.op_name()}{scope}, made at {self.site}"

    def __repr__(self):
        return f"<Node {self.name}: {self.op.label()}>"


# ---------------------------------------------------------------- the compiler's workspace
class Workspace:
    """A compilation's private graph: its merge table, its names, and the node whose
    replacement is being built (``origin``), whose site, scope and tags new nodes take.

    >>> with Workspace().active() as ws, ws.building_for(node):
    ...     y = x * 2          # a workspace node, named and placed like ``node``
    """

    def __init__(self):
        self.table: dict = {}          # (op, inputs) -> node; lives as long as the compilation
        self.constants: dict = {}      # (dtype, shape, bytes) -> Constant
        self.counts: dict = {}
        self.origin = None

    def unique(self, base: str) -> str:
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    @contextlib.contextmanager
    def active(self):
        token = _workspace.set(self)
        try:
            yield self
        finally:
            _workspace.reset(token)

    @contextlib.contextmanager
    def building_for(self, origin):
        """Nodes made inside come from ``origin``: its site, scope and tags; a node of the
        same op keeps its name (a rebuilt node is the same node to a reader)."""
        saved, self.origin = self.origin, origin
        try:
            yield self
        finally:
            self.origin = saved

    def make(self, op, inputs, out_types, name, tags):
        origin = self.origin
        if origin is not None:
            site, scope = origin.site, origin.scope
            tags = tags or origin.tags
            same = getattr(origin, "op", None) is not None and type(origin.op) is type(op)
            base = origin.base if same else (f"{scope}/{name or op.op_name()}" if scope else name or op.op_name())
        else:
            site, scope = user_site(), current_scope()
            base = scoped(name or op.op_name())
        return Node(op, inputs, out_types, site, scope, base, self.unique(base), tags)


_workspace: contextvars.ContextVar = contextvars.ContextVar("graphflow_workspace", default=None)


_recorders: contextvars.ContextVar = contextvars.ContextVar("graphflow_recorders", default=())


@contextlib.contextmanager
def recording():
    """Collect the nodes made (not found by hash-consing) inside the block: a branch of
    ``gf.cond`` keeps exactly those inside itself.

    >>> with recording() as made:
    ...     y = x * 2
    >>> y.node in made
    True
    """
    made: list = []
    token = _recorders.set(_recorders.get() + (made,))
    try:
        yield made
    finally:
        _recorders.reset(token)


def active_workspace() -> Workspace | None:
    """The workspace of the compilation running in this context, if any."""
    return _workspace.get()


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
    if name is not None:
        check_path(name, f"{op.op_name()} name")
    ws = _workspace.get()
    # inputs by identity: a live entry's node keeps its inputs alive (so an id cannot be
    # reused while it is in the table), and the table holds no tensor strongly, so a dead
    # graph is freed by one garbage collection instead of one layer per collection
    key = None if op.random or op.collective else (op, tuple([id(t) for t in inputs]))
    if key is not None:
        found = (ws.table.get(key) if ws is not None else None) or _interned.get(key)
        if found is not None:
            return found.outputs
    try:
        out = op.infer(*[t.type for t in inputs])
    except (ValueError, TypeError) as exc:
        raise build_error(op.label(), exc, inputs) from None
    out_types = [out] if isinstance(out, TensorType) else list(out)
    if ws is not None:
        node = ws.make(op, inputs, out_types, name, tags)
        if key is not None:
            ws.table[key] = node
        return node.outputs
    base = scoped(name or op.op_name())
    node = Node(op, inputs, out_types, user_site(), current_scope(), base, None, tags)
    node.name = unique_name(base, node)
    if key is not None:
        _interned[key] = node
    for made in _recorders.get():
        made.append(node)
    return node.outputs
