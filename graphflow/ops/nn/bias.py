"""Adding a per-channel bias, for either data format.

``bias_add`` is a composite (a broadcast ``Add``), so the compiler sees a plain add it
can fuse with the convolution or activation around it, and the bias gradient is the
usual sum over the broadcast axes.
"""
from __future__ import annotations

from ...graph import Tensor, format_shape
from .._util import operands, user_errors
from ..shape import reshape


@user_errors
def bias_add(x, bias, data_format="channels_last") -> Tensor:
    """``x + bias`` along the channel axis: the last one for 'channels_last', axis 1
    for 'channels_first' (``None`` means channels_last). ``bias`` is 1-D.

    >>> y = gf.nn.bias_add(x, b, data_format="channels_first")   # x (N, C, H, W), b (C,)
    """
    x, bias = operands(x, bias)
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    axis = x.ndim - 1 if data_format == "channels_last" else 1
    if bias.ndim != 1 or x.ndim < 2:
        raise ValueError(f"needs a 1-D bias and an input of rank >= 2, got bias "
                         f"{format_shape(bias.shape)} and input {format_shape(x.shape)}")
    c, b = x.shape[axis], bias.shape[0]
    if c is not None and b is not None and c != b:
        raise ValueError(f"bias length {b} != {c} channels of the input "
                         f"{format_shape(x.shape)} ({data_format})")
    if axis != x.ndim - 1:
        bias = reshape(bias, (-1,) + (1,) * (x.ndim - 1 - axis))
    return x + bias
