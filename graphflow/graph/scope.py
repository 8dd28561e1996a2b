"""Name scopes: ``with gf.name_scope("block1"):`` prefixes the names of nodes made inside."""
from __future__ import annotations

import contextlib
import threading

from .names import check_name

_state = threading.local()


def current_scope() -> str:
    """The active scope path, e.g. ``"block1/conv"`` (``""`` at top level)."""
    return "/".join(getattr(_state, "stack", ()))


@contextlib.contextmanager
def name_scope(name: str):
    """Nest node names under ``name``.

    >>> with name_scope("block1"):
    ...     y = x * 2          # y.name == "block1/mul"
    """
    check_name(name, "scope name")
    stack = getattr(_state, "stack", ())
    _state.stack = stack + (name,)
    try:
        yield current_scope()
    finally:
        _state.stack = stack
