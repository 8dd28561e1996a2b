"""Shape ops: reshape, transpose, expand_dims, broadcasting to a runtime shape and its dual.

``broadcast_like(g, x)`` and ``sum_like(g, x)`` take the *run-time* shape of ``x``; they
are how gradients stay exact when a dimension is unknown (``None``) until run time.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from ..graph import Op, Tensor, TensorType, broadcast_shapes, format_shape
from ..graph.dtypes import as_dtype
from ._util import as_ints, as_tensor, no_arithmetic, normalize_axis, operands, user_errors


@dataclass(frozen=True)
class Reshape(Op):
    """y = x with a new shape (same elements, C order); one entry may be -1"""
    flops = no_arithmetic
    views = (0,)  # may return a view of (or the very) input 0
    shape: tuple

    def infer(self, x):
        shape = list(self.shape)
        if sum(d == -1 for d in shape) > 1:
            raise ValueError(f"reshape: at most one -1 in {self.shape}")
        if any(d < -1 for d in shape):
            raise ValueError(f"reshape: bad target shape {self.shape}")
        if -1 in shape:
            known = math.prod(d for d in shape if d != -1)
            if x.size is not None:
                if known == 0 or x.size % known:
                    raise ValueError(f"cannot reshape {format_shape(x.shape)} ({x.size} elements) "
                                     f"into {self.shape}")
                shape[shape.index(-1)] = x.size // known
            else:
                shape[shape.index(-1)] = None
        elif x.size is not None and math.prod(shape) != x.size:
            raise ValueError(f"cannot reshape {format_shape(x.shape)} ({x.size} elements) into "
                             f"{format_shape(tuple(shape))} ({math.prod(shape)} elements)")
        elif x.size is None and _impossible(x.shape, math.prod(shape)):
            raise ValueError(f"cannot reshape {format_shape(x.shape)} into {format_shape(tuple(shape))}: "
                             f"{math.prod(shape)} elements is not a multiple of "
                             f"{math.prod(d for d in x.shape if d is not None)}")
        return TensorType(x.dtype, tuple(shape))

    def grad(self, inputs, outputs, gys):
        x = inputs[0]
        if None in x.shape:
            return [reshape_like(gys[0], x)]
        return [reshape(gys[0], x.shape)]


def _impossible(shape, total) -> bool:
    """Whether no value of the unknown dims of ``shape`` gives ``total`` elements."""
    known = math.prod(d for d in shape if d is not None)
    return total % known != 0 if known else total != 0


@dataclass(frozen=True)
class ReshapeLike(Op):
    """y = x reshaped to the run-time shape of ``like``"""
    flops = no_arithmetic
    shape_of_input = 1  # the output has input 1's run-time shape
    views = (0,)  # may return a view of (or the very) input 0

    def infer(self, x, like):
        if x.size is not None and like.size is not None and x.size != like.size:
            raise ValueError(f"cannot reshape {format_shape(x.shape)} like {format_shape(like.shape)}")
        return TensorType(x.dtype, like.shape)

    def grad(self, inputs, outputs, gys):
        return [reshape_like(gys[0], inputs[0]), None]


@dataclass(frozen=True)
class Transpose(Op):
    """y = x with its axes permuted: y.shape[i] = x.shape[axes[i]]"""
    flops = no_arithmetic
    views = (0,)  # may return a view of (or the very) input 0
    axes: tuple

    def infer(self, x):
        if sorted(self.axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {self.axes} are not a permutation of {x.ndim} axes")
        return TensorType(x.dtype, tuple(x.shape[a] for a in self.axes))

    def grad(self, inputs, outputs, gys):
        return [transpose(gys[0], tuple(int(i) for i in np.argsort(self.axes)))]


@dataclass(frozen=True)
class ExpandDims(Op):
    """y = x with a new axis of length 1 at ``axis``"""
    flops = no_arithmetic
    views = (0,)  # may return a view of (or the very) input 0
    axis: int

    def infer(self, x):
        shape = list(x.shape)
        shape.insert(self.axis, 1)
        return TensorType(x.dtype, tuple(shape))

    def grad(self, inputs, outputs, gys):
        return [squeeze(gys[0], self.axis)]


@dataclass(frozen=True)
class Squeeze(Op):
    """y = x without the length-1 axes ``axes``"""
    flops = no_arithmetic
    views = (0,)  # may return a view of (or the very) input 0
    axes: tuple

    def infer(self, x):
        for a in self.axes:
            if x.shape[a] not in (1, None):
                raise ValueError(f"squeeze: axis {a} has length {x.shape[a]}, not 1")
        return TensorType(x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in self.axes))

    def grad(self, inputs, outputs, gys):
        return [reshape_like(gys[0], inputs[0])]


@dataclass(frozen=True)
class BroadcastTo(Op):
    """y = x broadcast to ``shape`` (NumPy rules)"""
    flops = no_arithmetic
    views = (0,)  # may return a view of (or the very) input 0
    shape: tuple

    def infer(self, x):
        if len(self.shape) < x.ndim or broadcast_shapes(x.shape, self.shape) != self.shape:
            raise ValueError(f"cannot broadcast {format_shape(x.shape)} to {format_shape(self.shape)}")
        return TensorType(x.dtype, self.shape)

    def grad(self, inputs, outputs, gys):
        from ._util import unbroadcast
        return [unbroadcast(gys[0], inputs[0])]


@dataclass(frozen=True)
class BroadcastLike(Op):
    """y = x broadcast to the run-time shape of ``like``"""
    flops = no_arithmetic
    shape_of_input = 1  # the output has input 1's run-time shape
    views = (0,)  # may return a view of (or the very) input 0

    def infer(self, x, like):
        shape = broadcast_shapes(x.shape, like.shape)
        if len(shape) != like.ndim:
            raise ValueError(f"cannot broadcast {format_shape(x.shape)} like {format_shape(like.shape)}")
        return TensorType(x.dtype, like.shape)

    def grad(self, inputs, outputs, gys):
        return [sum_like(gys[0], inputs[0]), None]


@dataclass(frozen=True)
class SumLike(Op):
    """y = x summed over the axes along which ``like`` (run-time shape) was broadcast"""
    shape_of_input = 1  # the output has input 1's run-time shape
    views = (0,)  # may return a view of (or the very) input 0

    def infer(self, x, like):
        lead = x.ndim - like.ndim
        if lead < 0 or any(a is not None and b is not None and a not in (1, b)
                           for a, b in zip(like.shape, x.shape[lead:])):
            raise ValueError(f"cannot sum {format_shape(x.shape)} down to {format_shape(like.shape)}")
        return TensorType(x.dtype, like.shape)

    def grad(self, inputs, outputs, gys):
        return [broadcast_like(gys[0], inputs[0]), None]


@dataclass(frozen=True)
class Flatten(Op):
    """y = x reshaped to (x.shape[0], everything else) when neither is known until run time
    (``flatten`` uses ``Reshape`` whenever it can)"""
    flops = no_arithmetic
    views = (0,)  # may return a view of (or the very) input 0

    def infer(self, x):
        if x.ndim == 0:
            raise ValueError("flatten needs a tensor of rank >= 1 (its first axis is kept)")
        rest = TensorType(x.dtype, x.shape[1:]).size
        return TensorType(x.dtype, (x.shape[0], rest))

    def grad(self, inputs, outputs, gys):
        return [reshape_like(gys[0], inputs[0])]


# ---------------------------------------------------------------- functional API
@user_errors
def reshape(x, shape) -> Tensor:
    """``x`` with a new shape; one entry may be -1: ``gf.reshape(x, (-1, 784))``."""
    (x,) = operands(x)
    shape = as_ints(shape, "shape")
    return x if shape == x.shape else Reshape(shape)(x)


@user_errors
def reshape_like(x, like) -> Tensor:
    """``x`` reshaped to the run-time shape of ``like``."""
    x, like = operands(x, like)
    if x.shape == like.shape and None not in x.shape:
        return x
    return ReshapeLike()(x, like)


@user_errors
def transpose(x, axes=None) -> Tensor:
    """Permute axes (reverse them by default): ``gf.transpose(x, (0, 3, 1, 2))``."""
    (x,) = operands(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(normalize_axis(a, x.ndim) for a in axes)
    return x if axes == tuple(range(x.ndim)) else Transpose(axes)(x)


@user_errors
def expand_dims(x, axis) -> Tensor:
    """Insert a length-1 axis: ``gf.expand_dims(x, -1)``."""
    (x,) = operands(x)
    return ExpandDims(normalize_axis(axis, x.ndim + 1))(x)


@user_errors
def squeeze(x, axis=None) -> Tensor:
    """Drop length-1 axes (all statically-1 axes by default)."""
    (x,) = operands(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = tuple(sorted({normalize_axis(a, x.ndim) for a in ((axis,) if isinstance(axis, int) else axis)}))
    return Squeeze(axes)(x) if axes else x


@user_errors
def broadcast_to(x, shape) -> Tensor:
    """``x`` broadcast to a fixed ``shape``."""
    (x,) = operands(x)
    shape = as_ints(shape, "shape")
    return x if x.shape == shape else BroadcastTo(shape)(x)


@user_errors
def broadcast_like(x, like) -> Tensor:
    """``x`` broadcast to the run-time shape of ``like``."""
    x, like = operands(x, like)
    return BroadcastLike()(x, like)


@user_errors
def full_like(x, value, dtype=None) -> Tensor:
    """A tensor of ``x``'s run-time shape filled with ``value`` (dtype: ``x``'s unless
    given). ``x``'s values are never read, so NaN or inf in ``x`` do not leak in (as
    ``x * 0 + value`` would let them).

    >>> gf.full_like(gf.placeholder((None, 3)), 7.0).shape
    (None, 3)
    """
    (x,) = operands(x)
    dtype = x.dtype if dtype is None else as_dtype(dtype)
    if np.ndim(value) != 0:
        raise ValueError(f"the fill value must be a scalar, got {value!r}")
    return broadcast_like(as_tensor(np.asarray(value, dtype)), x)


@user_errors
def ones_like(x, dtype=None) -> Tensor:
    """Ones of ``x``'s run-time shape (see ``full_like``): ``gf.ones_like(x)``."""
    return full_like(x, 1, dtype)


@user_errors
def zeros_like(x, dtype=None) -> Tensor:
    """Zeros of ``x``'s run-time shape (see ``full_like``): ``gf.zeros_like(x)``."""
    return full_like(x, 0, dtype)


@user_errors
def sum_like(x, like) -> Tensor:
    """``x`` summed down to the run-time shape of ``like`` (undoes broadcasting)."""
    x, like = operands(x, like)
    return SumLike()(x, like)


@user_errors
def flatten(x) -> Tensor:
    """Keep the first (batch) axis, merge the rest: (N, ...) -> (N, prod(rest)), N may be
    unknown: ``gf.flatten(conv_out)`` for a (None, 7, 7, 64) tensor is (None, 3136)."""
    (x,) = operands(x)
    if x.ndim == 0:
        raise ValueError("flatten needs a tensor of rank >= 1 (its first axis is kept)")
    n, rest = x.shape[0], TensorType(x.dtype, x.shape[1:]).size
    if rest is not None and (n is not None or rest > 0):
        return reshape(x, (-1 if n is None else n, rest))
    if n:  # (a known, non-zero batch: -1 is then unambiguous)
        return reshape(x, (n, -1))
    return Flatten()(x)
