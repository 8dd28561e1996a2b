"""Reductions over ``axis`` (None = all, an int, or a tuple) with ``keepdims``.

var and std are composites (mean of squared deviations), so their gradients come for free.
Gradients of reductions broadcast back to the input's run-time shape (``broadcast_like``),
so unknown dims such as the batch stay exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import builtins
import math

import numpy as np

from ..graph import Op, Tensor, TensorType
from ..graph.dtypes import as_dtype, default_float
from ._util import as_bool, normalize_axes, normalize_axis, operands, user_errors
from .elementwise import cast, equal, logical_and, where
from .shape import broadcast_like, expand_dims


@dataclass(frozen=True)
class Reduce(Op):
    """Base of reductions: ``axes`` sorted and non-negative, ``keepdims``."""

    def flops(self, in_types, out_types):  # one operation per input element
        return in_types[0].size or 0

    views = ()  # kernels return fresh arrays

    axes: tuple
    keepdims: bool = False
    like: ClassVar[str] = ""  # NumPy function whose result dtype applies

    def out_shape(self, x):
        if self.keepdims:
            return tuple(1 if i in self.axes else d for i, d in enumerate(x.shape))
        return tuple(d for i, d in enumerate(x.shape) if i not in self.axes)

    def infer(self, x):
        for a in self.axes:
            if x.shape[a] == 0 and self.like in ("max", "min", "argmax", "argmin"):
                raise ValueError(f"{self.op_name()} of an empty axis {a}")
        dtype = getattr(np, self.like)(np.ones((1,) * builtins.max(x.ndim, 1), x.dtype)).dtype.name
        return TensorType(dtype, self.out_shape(x))

    def kept(self, t: Tensor) -> Tensor:
        """``t`` (shaped like this op's output) with the reduced axes restored as length 1."""
        if self.keepdims:
            return t
        for a in self.axes:
            t = expand_dims(t, a)
        return t

    def label(self):
        return f"{self.op_name()} axis={self.axes}" + (" keep" if self.keepdims else "")


@dataclass(frozen=True)
class Sum(Reduce):
    """y = sum of x over axes (bool/small ints sum in the platform integer, as NumPy)"""
    like = "sum"

    def grad(self, inputs, outputs, gys):
        return [broadcast_like(self.kept(gys[0]), inputs[0])]


@dataclass(frozen=True)
class Mean(Reduce):
    """y = mean of x over axes"""
    like = "mean"

    def grad(self, inputs, outputs, gys):
        x = inputs[0]
        return [broadcast_like(self.kept(gys[0]), x) / count(x, self.axes, gys[0].dtype)]


@dataclass(frozen=True)
class Max(Reduce):
    """y = max of x over axes; the gradient is shared equally by tied maxima"""
    like = "max"

    def grad(self, inputs, outputs, gys):
        return [_extreme_grad(self, inputs[0], outputs[0], gys[0])]


@dataclass(frozen=True)
class Min(Reduce):
    """y = min of x over axes; the gradient is shared equally by tied minima"""
    like = "min"

    def grad(self, inputs, outputs, gys):
        return [_extreme_grad(self, inputs[0], outputs[0], gys[0])]


def _extreme_grad(op, x, y, g):
    hit = cast(equal(x, op.kept(y)), x.dtype)
    share = hit / sum(hit, op.axes, keepdims=True)
    return share * op.kept(g)


@dataclass(frozen=True)
class Prod(Reduce):
    """y = product of x over axes; exact where x has zeros (one zero: the product of the
    others; two or more: 0)"""
    like = "prod"

    def grad(self, inputs, outputs, gys):
        x, g = inputs[0], self.kept(gys[0])
        zero = equal(x, 0)
        nonzero_x = where(zero, 1, x)
        n_zero = sum(cast(zero, "int64"), self.axes, keepdims=True)
        prod_nonzero = prod(nonzero_x, self.axes, keepdims=True)
        none_zero = self.kept(outputs[0]) / nonzero_x
        one_zero = where(logical_and(zero, equal(n_zero, 1)), prod_nonzero, 0)
        return [g * where(equal(n_zero, 0), none_zero, one_zero)]


@dataclass(frozen=True)
class ArgMax(Op):
    """index (int64) of the largest value along ``axis`` (first one at ties); no gradient"""
    views = ()  # kernels return fresh arrays
    name: ClassVar[str] = "argmax"
    axis: int
    keepdims: bool = False

    def infer(self, x):
        if x.shape[self.axis] == 0:
            raise ValueError(f"{self.op_name()} of the empty axis {self.axis}")
        shape = list(x.shape)
        if self.keepdims:
            shape[self.axis] = 1
        else:
            del shape[self.axis]
        return TensorType("int64", tuple(shape))


@dataclass(frozen=True)
class ArgMin(ArgMax):
    """index (int64) of the smallest value along ``axis`` (first one at ties); no gradient"""
    name: ClassVar[str] = "argmin"


@dataclass(frozen=True)
class Count(Op):
    """the number of elements of x over ``axes`` at run time, as a scalar of ``dtype``"""
    views = ()  # kernels return fresh arrays
    axes: tuple
    dtype: str

    def infer(self, x):
        return TensorType(self.dtype, ())

    def grad(self, inputs, outputs, gys):
        return [None]


# ---------------------------------------------------------------- functional API
def _reduce(op_type, x, axis, keepdims):
    (x,) = operands(x)
    axes = normalize_axes(axis, x.ndim)
    return op_type(axes, as_bool(keepdims, "keepdims"))(x)


@user_errors
def sum(x, axis=None, keepdims=False) -> Tensor:
    """Sum over ``axis`` (None = all): ``gf.sum(x, axis=0)``."""
    return _reduce(Sum, x, axis, keepdims)


@user_errors
def mean(x, axis=None, keepdims=False) -> Tensor:
    """Mean over ``axis`` (None = all)."""
    return _reduce(Mean, x, axis, keepdims)


@user_errors
def max(x, axis=None, keepdims=False) -> Tensor:
    """Largest value over ``axis`` (None = all)."""
    return _reduce(Max, x, axis, keepdims)


@user_errors
def min(x, axis=None, keepdims=False) -> Tensor:
    """Smallest value over ``axis`` (None = all)."""
    return _reduce(Min, x, axis, keepdims)


@user_errors
def prod(x, axis=None, keepdims=False) -> Tensor:
    """Product over ``axis`` (None = all)."""
    return _reduce(Prod, x, axis, keepdims)


@user_errors
def var(x, axis=None, keepdims=False) -> Tensor:
    """Population variance (ddof = 0) over ``axis``: ``mean((x - mean(x))**2)``."""
    (x,) = operands(x)
    if x.dtype.startswith("complex"):
        raise TypeError(f"var and std take real tensors, got {x.dtype}")
    if not x.dtype.startswith("float"):
        x = cast(x, default_float(x.dtype))
    d = x - mean(x, axis, keepdims=True)
    return mean(d * d, axis, keepdims)


@user_errors
def std(x, axis=None, keepdims=False) -> Tensor:
    """Population standard deviation over ``axis``: ``sqrt(var(x))``."""
    from .elementwise import sqrt
    return sqrt(var(x, axis, keepdims))


@user_errors
def argmax(x, axis=-1, keepdims=False) -> Tensor:
    """Index of the largest value along ``axis`` (int64)."""
    (x,) = operands(x)
    return ArgMax(normalize_axis(axis, x.ndim), as_bool(keepdims, "keepdims"))(x)


@user_errors
def argmin(x, axis=-1, keepdims=False) -> Tensor:
    """Index of the smallest value along ``axis`` (int64)."""
    (x,) = operands(x)
    return ArgMin(normalize_axis(axis, x.ndim), as_bool(keepdims, "keepdims"))(x)


@user_errors
def count(x, axis=None, dtype="float32") -> Tensor:
    """Number of elements of ``x`` over ``axis``, known at run time (a scalar)."""
    (x,) = operands(x)
    axes, dtype = normalize_axes(axis, x.ndim), as_dtype(dtype)
    sizes = [x.shape[a] for a in axes]
    if None not in sizes:
        from ..graph import constant
        return constant(math.prod(sizes), dtype=dtype)
    return Count(axes, dtype)(x)
