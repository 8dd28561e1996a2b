"""Linear algebra: ``matmul`` (NumPy ``@``), ``tensordot``, and the composites ``dot`` and
``outer`` built from them.

``MatMul`` follows ``np.matmul`` exactly: the last two axes are the matrices, leading
axes are batch axes that broadcast, a 1-D left operand is a row vector and a 1-D right
operand a column vector (the added axis is dropped from the result). Its gradient is two
matmuls against the transposed operands, summed back over broadcast batch axes by
``unbroadcast``. ``TensorDot`` contracts arbitrary axis pairs; its gradient is two
tensordots and a transpose.

    >>> y = x @ w                       # (?, 784) @ (784, 10) -> (?, 10)
    >>> gf.tensordot(a, b, axes=([1, 2], [0, 1]))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..graph import Op, Tensor, TensorType, broadcast_shapes, format_shape
from ..graph.dtypes import result_type, ufunc_result
from ._util import normalize_axis, operands, unbroadcast, user_errors
from .shape import expand_dims, reshape, squeeze, transpose


def _same(a, b) -> bool:
    """Whether two static dims may be equal (``None`` may be anything)."""
    return a is None or b is None or a == b


@dataclass(frozen=True)
class MatMul(Op):
    """z = x @ y (``np.matmul``): z[..., i, j] = sum_k x[..., i, k] y[..., k, j]; batch axes
    broadcast; a 1-D x is a row (its axis dropped from z), a 1-D y a column"""

    def flops(self, in_types, out_types):  # (..., m, k) @ (..., k, n): 2 m n k per batch
        k = in_types[0].shape[-1] if in_types[0].ndim else 1
        return 2 * (out_types[0].size or 0) * (k or 0)

    epilogue_head = True  # a fresh result an element-wise tail may work on in place
    views = ()  # kernels return fresh arrays

    name: ClassVar[str] = "matmul"

    def infer(self, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul needs operands of rank >= 1, got shapes {format_shape(x.shape)} and "
                             f"{format_shape(y.shape)}; use gf.mul for a scalar factor")
        xs = (1,) + x.shape if x.ndim == 1 else x.shape
        ys = y.shape + (1,) if y.ndim == 1 else y.shape
        if not _same(xs[-1], ys[-2]):
            raise ValueError(f"matmul: shapes {format_shape(x.shape)} and {format_shape(y.shape)} do not "
                             f"align: {xs[-1]} (last axis of x) != {ys[-2]} "
                             f"({'only' if y.ndim == 1 else 'second-to-last'} axis of y)")
        try:
            batch = broadcast_shapes(xs[:-2], ys[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch axes {format_shape(xs[:-2])} and {format_shape(ys[:-2])} of "
                             f"shapes {format_shape(x.shape)} and {format_shape(y.shape)} do not broadcast") from None
        core = (() if x.ndim == 1 else (xs[-2],)) + (() if y.ndim == 1 else (ys[-1],))
        return TensorType(ufunc_result(np.matmul, x.dtype, y.dtype)[0], batch + core)

    def grad(self, inputs, outputs, gys):
        x, y = inputs
        g = gys[0]
        # work on the >= 2-D forms (vectors as 1-row / 1-column matrices), then undo that
        x2 = expand_dims(x, 0) if x.ndim == 1 else x
        y2 = expand_dims(y, -1) if y.ndim == 1 else y
        g2 = expand_dims(g, g.ndim) if y.ndim == 1 else g
        g2 = expand_dims(g2, g2.ndim - 1) if x.ndim == 1 else g2
        gx = unbroadcast(matmul(g2, _swap(y2)), x2)
        if x.ndim > 2 and y.ndim == 2 and None not in y.shape:
            # a stack of rows times one matrix: its gradient is one (k, M) @ (M, n) product,
            # not a batch of products summed afterwards
            gy = matmul(transpose(reshape(x, (-1, y.shape[0]))), reshape(g, (-1, y.shape[1])))
        else:
            gy = unbroadcast(matmul(_swap(x2), g2), y2)
        return [squeeze(gx, 0) if x.ndim == 1 else gx, squeeze(gy, -1) if y.ndim == 1 else gy]


def _swap(t: Tensor) -> Tensor:
    """``t`` with its last two axes exchanged (the matrix transpose of a batch)."""
    axes = list(range(t.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return transpose(t, tuple(axes))


@dataclass(frozen=True)
class TensorDot(Op):
    """z = sum over paired axes: z[free_x..., free_y...] = sum_k x[..., k, ...] y[..., k, ...]
    with x's axes ``x_axes`` paired with y's ``y_axes`` (``np.tensordot``)"""
    views = ()  # kernels return fresh arrays

    name: ClassVar[str] = "tensordot"
    x_axes: tuple
    y_axes: tuple

    def infer(self, x, y):
        for xa, ya in zip(self.x_axes, self.y_axes):
            if not _same(x.shape[xa], y.shape[ya]):
                raise ValueError(f"tensordot: axis {xa} of x has length {x.shape[xa]} but axis {ya} of y has "
                                 f"length {y.shape[ya]} (shapes {format_shape(x.shape)} and "
                                 f"{format_shape(y.shape)})")
        shape = tuple(d for i, d in enumerate(x.shape) if i not in self.x_axes) + \
            tuple(d for i, d in enumerate(y.shape) if i not in self.y_axes)
        return TensorType(result_type(x.dtype, y.dtype), shape)

    def grad(self, inputs, outputs, gys):
        x, y = inputs
        g = gys[0]
        free_x = [i for i in range(x.ndim) if i not in self.x_axes]
        free_y = [i for i in range(y.ndim) if i not in self.y_axes]
        g_free_x = list(range(len(free_x)))
        g_free_y = list(range(len(free_x), g.ndim))
        # tensordot keeps the uncontracted axes of each side in ascending order; map them back
        by_y = sorted(zip(self.y_axes, self.x_axes))
        gx = tensordot(g, y, (g_free_y, free_y))
        gx = transpose(gx, _inverse(free_x + [xa for _, xa in by_y]))
        by_x = sorted(zip(self.x_axes, self.y_axes))
        gy = tensordot(x, g, (free_x, g_free_x))
        gy = transpose(gy, _inverse([ya for _, ya in by_x] + free_y))
        return [gx, gy]


def _inverse(order: list) -> tuple:
    """The permutation that puts axes now in ``order`` back to 0, 1, 2, ..."""
    return tuple(int(i) for i in np.argsort(order))


# ---------------------------------------------------------------- functional API
@user_errors
def matmul(x, y) -> Tensor:
    """Matrix product with NumPy ``@`` semantics (batched, broadcasting, 1-D operands):
    ``gf.matmul(x, w)``, or ``x @ w``."""
    x, y = operands(x, y)
    return MatMul()(x, y)


@user_errors
def tensordot(x, y, axes=2) -> Tensor:
    """Sum products over axis pairs (``np.tensordot``): ``axes=n`` pairs the last n axes of
    x with the first n of y; ``axes=([1, 0], [0, 1])`` names the pairs.

    >>> gf.tensordot(a, b, axes=([1], [0]))    # = a @ b for matrices
    """
    x, y = operands(x, y)
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(x.ndim, y.ndim):
            raise ValueError(f"tensordot: axes={axes} needs 0 <= axes <= min of the ranks "
                             f"({x.ndim}, {y.ndim})")
        xa, ya = list(range(x.ndim - axes, x.ndim)), list(range(axes))
    else:
        try:
            xa, ya = axes
        except (TypeError, ValueError):
            raise ValueError(f"tensordot: axes must be an int or a pair of axis lists, got {axes!r}") from None
        xa = [xa] if isinstance(xa, (int, np.integer)) else list(xa)
        ya = [ya] if isinstance(ya, (int, np.integer)) else list(ya)
    if len(xa) != len(ya):
        raise ValueError(f"tensordot: {len(xa)} axes of x but {len(ya)} axes of y")
    xa = tuple(normalize_axis(a, x.ndim, "tensordot axis of x") for a in xa)
    ya = tuple(normalize_axis(a, y.ndim, "tensordot axis of y") for a in ya)
    if len(set(xa)) != len(xa) or len(set(ya)) != len(ya):
        raise ValueError(f"tensordot: repeated axis in {axes!r}")
    return TensorDot(xa, ya)(x, y)


@user_errors
def dot(x, y) -> Tensor:
    """``np.dot``: a scalar operand multiplies; vectors and matrices multiply as ``@``;
    for higher ranks, sums over the last axis of x and the second-to-last of y.

    >>> gf.dot(v, w)          # inner product of two vectors
    """
    x, y = operands(x, y)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim <= 2 and y.ndim <= 2:
        return matmul(x, y)
    return tensordot(x, y, ([x.ndim - 1], [max(y.ndim - 2, 0)]))


@user_errors
def outer(x, y) -> Tensor:
    """Outer product of the flattened operands (``np.outer``): ``z[i, j] = x[i] * y[j]``."""
    x, y = operands(x, y)
    return reshape(x, (-1, 1)) * reshape(y, (1, -1))
