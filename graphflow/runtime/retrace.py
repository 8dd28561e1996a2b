"""Noticing the same graph compiled again and again (the classic leak of graph engines:
building and compiling inside the training loop).

Every ``gf.function`` reports its graph here. Graphs are keyed by structure: the ops and
how they connect, the variables by identity, placeholders by dtype and shape, small
constants by value -- so a loop that rebuilds ``loss = f(x)`` and recompiles it every
step hits one key however many fresh tensors it makes. The ``LIMIT``-th compile of one
key in a process warns once, naming where the graph's outputs were made:

    >>> for step in range(100):
    ...     f = gf.function([x], loss, updates=updates)   # RetraceWarning on the 5th
    ...     f(batch)
    >>> f = gf.function([x], loss, updates=updates)       # do this once, before the loop

Only hashes are kept (no graph stays alive because of this module); at most ``KEYS``.
"""
from __future__ import annotations

import os
import sys
import threading
import warnings

from ..graph import Constant, Placeholder, Variable, toposort

LIMIT = 5
KEYS = 4096
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_lock = threading.Lock()
_counts: dict = {}  # structural hash -> compiles so far (insertion order: oldest first)


class RetraceWarning(RuntimeWarning):
    """The same graph was compiled ``LIMIT`` times in this process."""


def note(inputs, outputs, updates, optimize, backend, conv_precision="exact") -> None:
    """Count one compile of this graph; warn (once per graph) at the ``LIMIT``-th."""
    key = structural_key(inputs, outputs, updates, optimize, getattr(backend, "name", backend), conv_precision)
    with _lock:
        n = _counts.pop(key, 0) + 1
        _counts[key] = n  # re-inserted: the most recent keys survive the trim below
        while len(_counts) > KEYS:
            _counts.pop(next(iter(_counts)))
    if n == LIMIT:
        made = next((t.node.site for t in outputs if t.node is not None), "<no op>")
        warnings.warn(f"gf.function has compiled the same graph {LIMIT} times in this process (its outputs "
                      f"were made at {made}). Compiling inside a loop is slow and builds the graph again "
                      f"every time: compile once, before the loop, and call the Function (feed the values "
                      f"that change through placeholders). Shown once per graph.",
                      RetraceWarning, stacklevel=_user_stacklevel())


def structural_key(inputs, outputs, updates, optimize, backend_name, conv_precision="exact") -> int:
    """A hash of what is compiled: equal for graphs that compute the same thing from the
    same state, whichever tensor objects they are made of, with the same settings (the
    convolution precision changes the arithmetic, so it is part of the key)."""
    position = {id(x): i for i, x in enumerate(inputs)}
    targets = list(outputs) + [e for _, e in updates]
    order = {}
    parts = [optimize, backend_name, conv_precision]
    for node in toposort(targets):
        order[id(node)] = len(order)
        parts.append((type(node.op), node.op, tuple(_ref(t, order, position) for t in node.inputs)))
    parts.append(tuple(_ref(t, order, position) for t in outputs))
    parts.append(tuple((id(v), _ref(e, order, position)) for v, e in updates))
    return hash(tuple(parts))


def _ref(t, order, position):
    if t.node is not None:
        return ("n", order[id(t.node)], t.index)
    if isinstance(t, Placeholder):
        return ("p", position.get(id(t)), t.dtype, t.shape)
    if isinstance(t, Constant) and t.value.size <= 4096:
        return ("c", t.dtype, t.shape, t.value.tobytes())
    if isinstance(t, (Variable, Constant)):
        return ("s", id(t))
    return ("?", id(t))


def _user_stacklevel() -> int:
    """The warnings stacklevel of the innermost frame outside graphflow."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PKG):
        frame, level = frame.f_back, level + 1
    return level
