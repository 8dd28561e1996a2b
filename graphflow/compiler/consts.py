"""What rewrites ask about constants: is this tensor a known, uniform value?"""
from __future__ import annotations

import numpy as np

from ..graph import Constant, constant
from ..ops.shape import BroadcastTo, ExpandDims, Reshape

_SAME_VALUES = (BroadcastTo, ExpandDims, Reshape)  # ops that keep every value of a constant
UNIFORM_LIMIT = 100_000  # elements checked for uniformity


def const_source(t):
    """The Constant behind ``t`` through value-preserving shape ops, or None."""
    while t.node is not None:
        if not isinstance(t.node.op, _SAME_VALUES):
            return None
        t = t.node.inputs[0]
    return t if isinstance(t, Constant) else None


def uniform_value(t):
    """The value every element of ``t`` holds, if ``t`` is a constant (or a broadcast or
    reshape of one) of fully static shape; else None. ``uniform_value(gf.constant([2, 2])) == 2``."""
    if None in t.shape:
        return None
    src = const_source(t)
    if src is None or src.value.size == 0 or src.value.size > UNIFORM_LIMIT:
        return None
    v = src.value
    first = v.reshape(-1)[0]
    if v.size > 1 and not bool((v == first).all()):
        return None
    return first.item()


def is_value(t, value) -> bool:
    """Whether ``t`` is a static-shape constant whose every element equals ``value``."""
    v = uniform_value(t)
    return v is not None and v == value


def const_like(value, t):
    """A constant holding ``value`` with ``t``'s dtype and (static) shape."""
    return constant(np.full(t.shape, value, dtype=t.dtype))
