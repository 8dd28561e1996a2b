"""2-D max and average pooling (Keras / TensorFlow semantics) and their gradient ops.

'valid' drops the rows and columns a window cannot cover (7 -> 3 for pool 2); 'same'
gives ``ceil(n / stride)`` outputs, padding as TensorFlow does (odd pixel after). Padded
cells never win a max, and a 'same' average divides by the number of real (non-pad)
cells in its window, as TensorFlow does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ...graph import Op, Tensor, TensorType, format_shape
from ...graph.dtypes import is_float
from .._util import operands, user_errors
from ._geometry import check_layout, output_length, pair, spatial_axes


@dataclass(frozen=True)
class PoolOp(Op):
    """Parameters shared by the pooling ops (``strides`` is never None here)."""

    def flops(self, in_types, out_types):  # each input element is read by overlapping windows
        return (in_types[0].size or 0) * max(1, math.prod(self.pool_size) // math.prod(self.strides))

    views = ()  # kernels return fresh arrays

    pool_size: tuple = (2, 2)
    strides: tuple = (2, 2)
    padding: str = "valid"
    data_format: str = "channels_last"

    def pooled(self, x) -> TensorType:
        """The output type for input type ``x`` (raises a plain error if impossible)."""
        check_layout(self.padding, self.data_format)
        if x.ndim != 4:
            raise ValueError(f"pooling needs a 4-D input ({self.data_format}), got shape "
                             f"{format_shape(x.shape)}")
        if not is_float(x.dtype):
            raise TypeError(f"pooling needs a float input, got {x.dtype}")
        shape = list(x.shape)
        for axis, k, s, what in zip(spatial_axes(self.data_format), self.pool_size, self.strides,
                                    ("input height", "input width")):
            shape[axis] = output_length(x.shape[axis], k, s, self.padding, 1, what)
        return TensorType(x.dtype, tuple(shape))

    @property
    def index_dtype(self) -> str:
        """The dtype of max pooling's window index: the narrowest integer type that holds
        every offset in a window."""
        return "uint8" if self.pool_size[0] * self.pool_size[1] <= 256 else "int32"

    def pool_fields(self) -> tuple:
        return self.pool_size, self.strides, self.padding, self.data_format

    def label(self):
        (p0, p1), (s0, s1) = self.pool_size, self.strides
        s = "" if (s0, s1) == (p0, p1) else f" s{s0}x{s1}"
        fmt = "" if self.data_format == "channels_last" else " NCHW"
        return f"{self.op_name()} {p0}x{p1}{s} {self.padding}{fmt}"


@dataclass(frozen=True)
class MaxPool2D(PoolOp):
    """Outputs ``(y, index)``: y = the largest x in each window; ``index`` = where in its
    window the winner sits (row-major offset ``i * pool_w + j``; the first one in that
    scan order at ties; padded cells never win), so the gradient routes dy without
    searching the windows again. ``gf.nn.max_pool2d`` returns y alone."""
    name: ClassVar[str] = "max_pool2d"

    def infer(self, x):
        y = self.pooled(x)
        return [y, TensorType(self.index_dtype, y.shape)]

    def grad(self, inputs, outputs, gys):
        if gys[0] is None:
            return [None]
        return [MaxPool2DGrad(*self.pool_fields())(inputs[0], outputs[1], gys[0])]


@dataclass(frozen=True)
class MaxPool2DGrad(PoolOp):
    """dx: each window's gradient dy routed to the element of x that won its max;
    inputs ``(x, index, dy)`` with ``index`` the second output of MaxPool2D. Only the
    run-time shape of x is read."""
    shape_of_input = 0  # the output has input 0's run-time shape
    name: ClassVar[str] = "max_pool2d_grad"

    def infer(self, x, index, dy):
        want = self.pooled(x)
        _check_index(self, want, index)
        _same_shape(want, dy, "output gradient")
        return x

    def grad(self, inputs, outputs, gys):
        x, index, _ = inputs
        return [None, None, MaxPool2DGradGrad(*self.pool_fields())(x, index, gys[0])]


@dataclass(frozen=True)
class MaxPool2DGradGrad(PoolOp):
    """The adjoint of MaxPool2DGrad in dy: each window picks the value of ``g`` (shaped
    like x) at the element that won its max; inputs ``(x, index, g)``."""
    name: ClassVar[str] = "max_pool2d_grad_grad"

    def infer(self, x, index, g):
        _same_shape(x, g, "gradient")
        want = self.pooled(x)
        _check_index(self, want, index)
        return want

    def grad(self, inputs, outputs, gys):
        x, index, _ = inputs
        return [None, None, MaxPool2DGrad(*self.pool_fields())(x, index, gys[0])]


@dataclass(frozen=True)
class AvgPool2D(PoolOp):
    """y = the mean of each window; with 'same' padding only real cells are counted."""
    name: ClassVar[str] = "avg_pool2d"

    def infer(self, x):
        return self.pooled(x)

    def grad(self, inputs, outputs, gys):
        return [AvgPool2DGrad(*self.pool_fields())(inputs[0], gys[0])]


@dataclass(frozen=True)
class AvgPool2DGrad(PoolOp):
    """dx: each window's dy shared equally by the cells it averaged; inputs ``(x, dy)``,
    where only the run-time shape of x is read. Linear in dy, its adjoint is AvgPool2D."""
    shape_of_input = 0  # the output has input 0's run-time shape
    name: ClassVar[str] = "avg_pool2d_grad"

    def infer(self, x, dy):
        _same_shape(self.pooled(x), dy, "output gradient")
        return x

    def grad(self, inputs, outputs, gys):
        return [None, AvgPool2D(*self.pool_fields())(gys[0])]


def _check_index(op, pooled, index):
    _same_shape(TensorType(op.index_dtype, pooled.shape), index, "window index (MaxPool2D's second output)")


def _same_shape(want, got, what):
    if got.dtype != want.dtype or got.ndim != want.ndim or any(
            a is not None and b is not None and a != b for a, b in zip(want.shape, got.shape)):
        raise ValueError(f"the {what} must be {want}, got {got}")


# ---------------------------------------------------------------- functional API
def _pool(op_type, x, pool_size, strides, padding, data_format):
    (x,) = operands(x)
    pool_size = pair(pool_size, f"{op_type.op_name()} pool_size")
    strides = pool_size if strides is None else pair(strides, f"{op_type.op_name()} strides")
    padding = padding.lower() if isinstance(padding, str) else padding
    data_format = "channels_last" if data_format is None else data_format
    out = op_type(pool_size, strides, padding, data_format)(x)
    return out[0] if isinstance(out, list) else out


@user_errors
def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid", data_format="channels_last") -> Tensor:
    """Max over ``pool_size`` windows; ``strides=None`` means ``strides = pool_size``.

    >>> gf.nn.max_pool2d(gf.placeholder((None, 7, 7, 4))).shape     # valid drops the odd row
    (None, 3, 3, 4)
    """
    return _pool(MaxPool2D, x, pool_size, strides, padding, data_format)


@user_errors
def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid", data_format="channels_last") -> Tensor:
    """Mean over ``pool_size`` windows ('same': over the real cells of each window).

    >>> gf.nn.avg_pool2d(gf.placeholder((None, 7, 7, 4)), padding="same").shape
    (None, 4, 4, 4)
    """
    return _pool(AvgPool2D, x, pool_size, strides, padding, data_format)
