"""2-D convolution (cross-correlation, as TensorFlow and Keras compute it) and its two
gradient ops, each an op of its own so a gradient graph is a graph like any other.

The kernel layout is Keras's ``(kernel_rows, kernel_cols, in_channels, filters)`` for
both data formats. ``padding='same'`` pads as TensorFlow does (the odd pixel goes to the
bottom / right). The three ops share one trilinear form ``T(x, k, dy) = <conv2d(x, k), dy>``:
``Conv2DBackpropInput`` is dT/dx and ``Conv2DBackpropFilter`` is dT/dk, which is why
each one's gradient is again one of the three.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...graph import Op, Tensor, TensorType, format_shape
from ...graph.dtypes import is_float, result_type
from .._util import operands, user_errors
from ..elementwise import cast
from ._geometry import check_layout, output_length, pair


@dataclass(frozen=True)
class ConvOp(Op):
    """Parameters shared by conv2d and its gradient ops."""

    def flops(self, in_types, out_types):
        """2 per multiply-add: (output positions of the forward conv) x (taps x in channels);
        the two gradients do the same work as the forward pass."""
        kernel = in_types[1]
        dy = out_types[0] if len(in_types) == 2 else in_types[2]
        taps = (kernel.shape[0] or 0) * (kernel.shape[1] or 0) * (kernel.shape[2] or 0)
        return 2 * (dy.size or 0) * taps

    views = ()  # kernels return fresh arrays

    strides: tuple = (1, 1)
    padding: str = "valid"
    data_format: str = "channels_last"
    dilation: tuple = (1, 1)

    def check(self, x, kernel) -> None:
        """Raise a plain error unless ``x`` and ``kernel`` can be convolved."""
        check_layout(self.padding, self.data_format)
        layout = "(batch, rows, cols, channels)" if self.data_format == "channels_last" \
            else "(batch, channels, rows, cols)"
        if x.ndim != 4:
            raise ValueError(f"the input must be 4-D {layout} for data_format={self.data_format!r}, "
                             f"got shape {format_shape(x.shape)}")
        if kernel.ndim != 4:
            raise ValueError(f"the kernel must be 4-D (kernel_rows, kernel_cols, in_channels, filters), "
                             f"got shape {format_shape(kernel.shape)}")
        if not (is_float(x.dtype) and x.dtype == kernel.dtype):
            raise TypeError(f"input and kernel must share one float dtype, got {x.dtype} and {kernel.dtype}")
        c_in, k_in = x.shape[3 if self.data_format == "channels_last" else 1], kernel.shape[2]
        if c_in is not None and k_in is not None and c_in != k_in:
            raise ValueError(f"input channels {c_in} != kernel input channels {k_in} (input shape "
                             f"{format_shape(x.shape)}, kernel shape {format_shape(kernel.shape)}, "
                             f"data_format={self.data_format!r})")

    def out_shape(self, x, kernel) -> tuple:
        """The static output shape (``None`` where an input dim is unknown)."""
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        spatial = []
        for axis, k, s, d, what in zip(axes, kernel.shape[:2], self.strides, self.dilation,
                                       ("input height", "input width")):
            n = x.shape[axis]
            if k is None and self.padding == "valid":
                spatial.append(None)
            else:
                spatial.append(output_length(n, k or 1, s, self.padding, d, what))
        batch, filters = x.shape[0], kernel.shape[3]
        if self.data_format == "channels_last":
            return (batch, *spatial, filters)
        return (batch, filters, *spatial)

    def conv_fields(self) -> tuple:
        return self.strides, self.padding, self.data_format, self.dilation

    def label(self):
        s = "" if self.strides == (1, 1) else f" s{self.strides[0]}x{self.strides[1]}"
        d = "" if self.dilation == (1, 1) else f" d{self.dilation[0]}x{self.dilation[1]}"
        fmt = "" if self.data_format == "channels_last" else " NCHW"
        return f"{self.op_name()} {self.padding}{s}{d}{fmt}"


@dataclass(frozen=True)
class Conv2D(ConvOp):
    """y[n, i, j, o] = sum_{a, b, c} x_pad[n, i*s0 + a*d0, j*s1 + b*d1, c] * k[a, b, c, o]
    (channels_last shown; channels_first moves the channel axis to 1 in x and y)."""
    epilogue_head = True  # a fresh result an element-wise tail may work on in place
    name: ClassVar[str] = "conv2d"

    def infer(self, x, kernel):
        self.check(x, kernel)
        return TensorType(x.dtype, self.out_shape(x, kernel))

    def grad(self, inputs, outputs, gys):
        (x, kernel), (g,), fields = inputs, gys, self.conv_fields()
        return [Conv2DBackpropInput(*fields)(x, kernel, g), Conv2DBackpropFilter(*fields)(x, kernel, g)]


@dataclass(frozen=True)
class Conv2DBackpropInput(ConvOp):
    """dx = d<conv2d(x, k), dy>/dx, from the kernel and the output gradient ``dy``;
    ``x`` is an input only for its (run-time) shape, its values are never read."""
    shape_of_input = 0  # the output has input 0's run-time shape
    name: ClassVar[str] = "conv2d_backprop_input"

    def infer(self, x, kernel, dy):
        self.check(x, kernel)
        _check_dy(self, x, kernel, dy)
        return x

    def grad(self, inputs, outputs, gys):
        x, kernel, dy = inputs
        g, fields = gys[0], self.conv_fields()
        return [None, Conv2DBackpropFilter(*fields)(g, kernel, dy), Conv2D(*fields)(g, kernel)]


@dataclass(frozen=True)
class Conv2DBackpropFilter(ConvOp):
    """dk = d<conv2d(x, k), dy>/dk, from the input and the output gradient ``dy``;
    ``kernel`` is an input only for its shape, its values are never read."""
    shape_of_input = 1  # the output has input 1's run-time shape
    name: ClassVar[str] = "conv2d_backprop_filter"

    def infer(self, x, kernel, dy):
        self.check(x, kernel)
        _check_dy(self, x, kernel, dy)
        return kernel

    def grad(self, inputs, outputs, gys):
        x, kernel, dy = inputs
        g, fields = gys[0], self.conv_fields()
        return [Conv2DBackpropInput(*fields)(x, g, dy), None, Conv2D(*fields)(x, g)]


def _check_dy(op, x, kernel, dy):
    want = op.out_shape(x, kernel)
    if dy.dtype != x.dtype or dy.ndim != 4 or any(
            a is not None and b is not None and a != b for a, b in zip(dy.shape, want)):
        raise ValueError(f"the output gradient must be {TensorType(x.dtype, want)}, got {dy}")


# ---------------------------------------------------------------- functional API
def conv_params(strides, padding, data_format, dilation, what):
    """Normalised (strides, padding, data_format, dilation) for the ops above."""
    padding = padding.lower() if isinstance(padding, str) else padding
    data_format = "channels_last" if data_format is None else data_format
    return (pair(strides, f"{what} strides"), padding, data_format, pair(dilation, f"{what} dilation"))


@user_errors
def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format="channels_last",
           dilation=(1, 1)) -> Tensor:
    """2-D cross-correlation with a Keras-layout kernel ``(rows, cols, in, filters)``.

    ``padding`` is 'valid' or 'same' (TF style); ``data_format`` 'channels_last'
    (N, H, W, C) or 'channels_first' (N, C, H, W); ``None`` means channels_last.
    Mixed float dtypes are promoted as NumPy would.

    >>> x = gf.placeholder((None, 28, 28, 1))
    >>> k = gf.variable(np.zeros((3, 3, 1, 8), "float32"))
    >>> gf.nn.conv2d(x, k, padding="same").shape
    (None, 28, 28, 8)
    """
    x, kernel = operands(x, kernel)
    if is_float(x.dtype) and is_float(kernel.dtype) and x.dtype != kernel.dtype:
        dtype = result_type(x.dtype, kernel.dtype)
        x, kernel = cast(x, dtype), cast(kernel, dtype)
    return Conv2D(*conv_params(strides, padding, data_format, dilation, "conv2d"))(x, kernel)
