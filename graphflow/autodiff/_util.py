"""Constant-like tensors shaped as another tensor at run time."""
from __future__ import annotations

from .. import ops
from ..graph import Tensor, constant


def _filled(t: Tensor, value) -> Tensor:
    c = constant(value, dtype=t.dtype)
    if None in t.shape:
        return ops.broadcast_like(c, t)
    return ops.broadcast_to(c, t.shape) if t.ndim else c


def zeros_like(t: Tensor) -> Tensor:
    return _filled(t, 0)


def ones_like(t: Tensor) -> Tensor:
    return _filled(t, 1)
