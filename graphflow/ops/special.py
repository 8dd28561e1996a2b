"""Numerically careful special functions: ``logsumexp``.

The compiler's stabilise pass rewrites ``log(sum(exp(x)))`` into ``LogSumExp``, which
subtracts the maximum before exponentiating, so large inputs never overflow.

    >>> gf.logsumexp(x, axis=-1)       # log(sum(exp(x), -1)) without overflow
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..graph import Tensor, TensorType
from ._util import as_bool, normalize_axes, operands, user_errors
from .elementwise import exp
from .reductions import Reduce
from .shape import broadcast_like


@dataclass(frozen=True)
class LogSumExp(Reduce):
    """y = log(sum(exp(x))) over axes, computed as m + log(sum(exp(x - m))) with
    m = max(x); dy/dx = exp(x - y) (the softmax of x over the axes)"""

    def flops(self, in_types, out_types):  # max, subtract, exp, add per element
        return 4 * (in_types[0].size or 0)

    name: ClassVar[str] = "logsumexp"

    def infer(self, x):
        if not x.dtype.startswith("float"):
            raise TypeError(f"logsumexp needs a real float input, got {x.dtype}")
        if any(x.shape[a] == 0 for a in self.axes):
            raise ValueError("logsumexp over an empty axis")
        return TensorType(x.dtype, self.out_shape(x))

    def grad(self, inputs, outputs, gys):
        x = inputs[0]
        return [broadcast_like(self.kept(gys[0]), x) * exp(x - self.kept(outputs[0]))]


@user_errors
def logsumexp(x, axis=None, keepdims=False) -> Tensor:
    """``log(sum(exp(x), axis))`` without overflow: ``gf.logsumexp(logits, axis=-1)``."""
    (x,) = operands(x)
    return LogSumExp(normalize_axes(axis, x.ndim), as_bool(keepdims, "keepdims"))(x)
