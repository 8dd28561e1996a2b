"""softmax and log_softmax along one axis, computed with the max subtracted so large
logits never overflow.

    >>> gf.nn.softmax(logits)            # rows sum to 1
    >>> gf.nn.log_softmax(logits, axis=1)
"""
from __future__ import annotations

from dataclasses import dataclass

from ...graph import Op, Tensor
from ...graph.dtypes import is_float
from .._util import normalize_axis, operands, user_errors
from ..elementwise import exp
from ..reductions import sum as reduce_sum


@dataclass(frozen=True)
class SoftmaxOp(Op):
    """Base of the two: ``axis`` is non-negative, the input a float tensor."""

    def flops(self, in_types, out_types):  # max, subtract, exp, normalise per element
        return 4 * (in_types[0].size or 0)

    views = ()  # kernels return fresh arrays

    axis: int = -1

    def infer(self, x):
        if not is_float(x.dtype):
            raise TypeError(f"{self.op_name()} needs a float input, got {x.dtype}")
        if not 0 <= self.axis < x.ndim:
            raise ValueError(f"axis {self.axis} is out of range for a tensor of rank {x.ndim}")
        if x.shape[self.axis] == 0:
            raise ValueError(f"{self.op_name()} over the empty axis {self.axis}")
        return x


@dataclass(frozen=True)
class Softmax(SoftmaxOp):
    """y = exp(x - max x) / sum(exp(x - max x)) along ``axis``;
    dy/dx contracted with g: y * (g - sum(g * y))"""

    def grad(self, inputs, outputs, gys):
        y, g = outputs[0], gys[0]
        return [y * (g - reduce_sum(g * y, self.axis, keepdims=True))]


@dataclass(frozen=True)
class LogSoftmax(SoftmaxOp):
    """y = x - max x - log(sum(exp(x - max x))) along ``axis``;
    dy/dx contracted with g: g - exp(y) * sum(g)"""

    def grad(self, inputs, outputs, gys):
        y, g = outputs[0], gys[0]
        return [g - exp(y) * reduce_sum(g, self.axis, keepdims=True)]


@user_errors
def softmax(x, axis=-1) -> Tensor:
    """Normalised exponentials along ``axis`` (the last by default)."""
    (x,) = operands(x)
    return Softmax(normalize_axis(axis, x.ndim))(x)


@user_errors
def log_softmax(x, axis=-1) -> Tensor:
    """``log(softmax(x))`` computed stably along ``axis``."""
    (x,) = operands(x)
    return LogSoftmax(normalize_axis(axis, x.ndim))(x)
