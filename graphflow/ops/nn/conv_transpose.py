"""Transposed 2-D convolution ("deconvolution"): the adjoint of ``conv2d`` in its input.

``conv2d_transpose(y, k)`` maps a ``(batch, rows, cols, in)`` tensor to the larger
``(batch, rows', cols', filters)`` one whose ``conv2d`` with the same kernel, strides and
padding has ``y``'s shape: ``<conv2d_transpose(y, k), x> = <y, conv2d(x, k)>``. The
kernel layout is Keras's Conv2DTranspose one, ``(kernel_rows, kernel_cols, filters,
in)``, which is exactly the kernel of that forward conv2d. Output lengths follow Keras 2
(``deconv_length``): 'valid' ``n * s + max(k - s, 0)``, 'same' ``n * s``.

Its gradients are the other two members of the conv2d family: d/dy is ``conv2d(g, k)``
and d/dk is ``Conv2DBackpropFilter(g, k, y)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...graph import Tensor, TensorType, format_shape
from ...graph.dtypes import is_float
from .._util import operands, user_errors
from ._geometry import check_layout, effective
from .conv import Conv2D, Conv2DBackpropFilter, ConvOp, conv_params


def transposed_length(n, k, stride, padding, dilation=1):
    """The length whose conv2d output is ``n`` (Keras 2's ``deconv_length``); None stays None."""
    if n is None or k is None:
        return None
    if padding == "same":
        return n * stride
    return n * stride + max(effective(k, dilation) - stride, 0)


@dataclass(frozen=True)
class Conv2DTranspose(ConvOp):
    """x = d<conv2d(x, k), y>/dx for an ``x`` of the transposed length: inputs
    ``(y, kernel)`` with kernel ``(kh, kw, filters, in)``; output channels ``filters``."""
    name: ClassVar[str] = "conv2d_transpose"

    def infer(self, y, kernel):
        check_layout(self.padding, self.data_format)
        if y.ndim != 4 or kernel.ndim != 4:
            raise ValueError(f"conv2d_transpose needs a 4-D input and a 4-D kernel (rows, cols, filters, in), "
                             f"got {format_shape(y.shape)} and {format_shape(kernel.shape)}")
        if not (is_float(y.dtype) and y.dtype == kernel.dtype):
            raise TypeError(f"input and kernel must share one float dtype, got {y.dtype} and {kernel.dtype}")
        c_in = y.shape[3 if self.data_format == "channels_last" else 1]
        if c_in is not None and kernel.shape[3] is not None and c_in != kernel.shape[3]:
            raise ValueError(f"input channels {c_in} != the kernel's last axis {kernel.shape[3]} (input shape "
                             f"{format_shape(y.shape)}, kernel shape {format_shape(kernel.shape)}: the kernel of a "
                             f"transposed convolution is (rows, cols, filters, in))")
        return TensorType(y.dtype, self.out_shape_of(y.shape, kernel.shape))

    def out_shape_of(self, y_shape, k_shape) -> tuple:
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        spatial = [transposed_length(y_shape[a], k, s, self.padding, d)
                   for a, k, s, d in zip(axes, k_shape[:2], self.strides, self.dilation)]
        if self.data_format == "channels_last":
            return (y_shape[0], *spatial, k_shape[2])
        return (y_shape[0], k_shape[2], *spatial)

    def grad(self, inputs, outputs, gys):
        (y, kernel), (g,), fields = inputs, gys, self.conv_fields()
        return [Conv2D(*fields)(g, kernel), Conv2DBackpropFilter(*fields)(g, kernel, y)]


@user_errors
def conv2d_transpose(y, kernel, strides=(1, 1), padding="valid", data_format="channels_last",
                     dilation=(1, 1)) -> Tensor:
    """Transposed convolution (the gradient of ``conv2d`` with respect to its input) with a
    Keras Conv2DTranspose kernel ``(rows, cols, filters, in)``.

    >>> y = gf.placeholder((None, 7, 7, 16))
    >>> k = gf.variable(np.zeros((3, 3, 8, 16), "float32"))
    >>> gf.nn.conv2d_transpose(y, k, strides=2, padding="same").shape
    (None, 14, 14, 8)
    """
    y, kernel = operands(y, kernel)
    return Conv2DTranspose(*conv_params(strides, padding, data_format, dilation, "conv2d_transpose"))(y, kernel)
