"""3-D convolution and pooling (Keras / TensorFlow semantics), expressed exactly through
the 2-D ops, so every backend that runs conv2d and pool2d runs them, with their gradients.

* ``conv3d``: the depth taps are gathered side by side on the channel axis (an im2col
  along depth: ``kd`` strided slices concatenated, ``kd × in`` channels), the batch and
  output depth are merged, and one ``conv2d`` with the kernel reshaped to
  ``(kh, kw, kd·in, filters)`` does the rest. Every output is the same sum of the same
  products as a direct 3-D convolution.
* ``conv3d_transpose``: its adjoint. Each depth tap's ``conv2d_transpose`` of the merged
  batch × depth is spread to depths ``o * stride + tap`` (zeros between, then shifted by
  the tap) and the taps summed; 'same' then crops as TensorFlow pads the forward conv.
* ``max_pool3d`` / ``avg_pool3d``: a box window is separable — pool (rows, cols) with
  pool2d over the merged batch × depth, then pool depth with a ``(kd, 1)`` pool2d. The max
  of maxes is the max; the mean of means is the mean, since TensorFlow's 'same' average
  divides by the count of real cells and a box's count is the product of its axes' counts.

Spatial dims (depth, rows, cols) must be known when the graph is built; the batch may be
``None``. Layout: channels_last ``(batch, depth, rows, cols, channels)``, channels_first
``(batch, channels, depth, rows, cols)``; kernel ``(kd, kh, kw, in, filters)``.

    >>> x = gf.placeholder((None, 8, 8, 8, 2))
    >>> k = gf.variable(np.zeros((3, 3, 3, 2, 4), "float32"))
    >>> gf.nn.conv3d(x, k, padding="same").shape
    (None, 8, 8, 8, 4)
"""
from __future__ import annotations

from ...graph import Tensor, format_shape
from ...graph.dtypes import is_float, result_type
from .._util import operands, user_errors
from ..elementwise import cast
from ..joining import concatenate, pad
from ..shape import reshape, transpose, zeros_like
from ._geometry import DATA_FORMATS, PADDINGS, output_length, same_padding
from .conv import conv2d
from .conv_transpose import conv2d_transpose
from .pool import avg_pool2d, max_pool2d


def triple(value, what: str) -> tuple:
    """``3`` -> ``(3, 3, 3)``; a triple of positive ints stays as it is."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int or a triple of ints, got {value!r}")
    if isinstance(value, int):
        value = (value,) * 3
    try:
        a, b, c = value
        out = (int(a), int(b), int(c))
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be an int or a triple of ints, got {value!r}") from None
    if out != tuple(value) or min(out) < 1:
        raise ValueError(f"{what} must be positive integers, got {value!r}")
    return out


def _layout(x: Tensor, padding, data_format, what: str) -> tuple:
    """(padding, data_format, x as channels_last), checked."""
    padding = padding.lower() if isinstance(padding, str) else padding
    data_format = "channels_last" if data_format is None else data_format
    if padding not in PADDINGS:
        raise ValueError(f"{what}: padding must be 'valid' or 'same', got {padding!r}")
    if data_format not in DATA_FORMATS:
        raise ValueError(f"{what}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    if x.ndim != 5:
        layout = "(batch, depth, rows, cols, channels)" if data_format == "channels_last" \
            else "(batch, channels, depth, rows, cols)"
        raise ValueError(f"{what}: the input must be 5-D {layout}, got shape {format_shape(x.shape)}")
    if not is_float(x.dtype):
        raise TypeError(f"{what}: the input must be float, got {x.dtype}")
    if data_format == "channels_first":
        x = transpose(x, (0, 2, 3, 4, 1))
    if None in x.shape[1:4]:
        raise ValueError(f"{what}: depth, rows and cols must be known when the graph is built, got "
                         f"input shape {format_shape(x.shape)} ({data_format})")
    return padding, data_format, x


def _back(y: Tensor, data_format: str) -> Tensor:
    return transpose(y, (0, 4, 1, 2, 3)) if data_format == "channels_first" else y


def _depth_taps(x: Tensor, kd: int, stride: int, padding: str, dilation: int) -> tuple:
    """The ``kd`` strided depth slices of ``x`` (channels_last) that meet tap 0..kd-1 of
    each output depth, and the output depth."""
    depth = x.shape[1]
    out = output_length(depth, kd, stride, padding, dilation, "input depth")
    if padding == "same":
        before, after = same_padding(depth, kd, stride, dilation)
        x = pad(x, ((0, 0), (before, after), (0, 0), (0, 0), (0, 0)))
    span = (out - 1) * stride + 1
    return [x[:, a * dilation:a * dilation + span:stride] for a in range(kd)], out


@user_errors
def conv3d(x, kernel, strides=(1, 1, 1), padding="valid", data_format="channels_last",
           dilation=(1, 1, 1)) -> Tensor:
    """3-D cross-correlation with a Keras-layout kernel ``(kd, kh, kw, in, filters)``.

    ``padding`` 'valid' or 'same' (TF: the odd cell after); ``data_format``
    'channels_last' ``(N, D, H, W, C)`` or 'channels_first' ``(N, C, D, H, W)``.

    >>> gf.nn.conv3d(x, k, strides=2).shape      # x (None, 8, 8, 8, 2), k (3, 3, 3, 2, 4)
    (None, 3, 3, 3, 4)
    """
    x, kernel = operands(x, kernel)
    if is_float(x.dtype) and is_float(kernel.dtype) and x.dtype != kernel.dtype:
        dtype = result_type(x.dtype, kernel.dtype)
        x, kernel = cast(x, dtype), cast(kernel, dtype)
    strides, dilation = triple(strides, "conv3d strides"), triple(dilation, "conv3d dilation")
    padding, data_format, x = _layout(x, padding, data_format, "conv3d")
    if kernel.ndim != 5 or None in kernel.shape:
        raise ValueError(f"conv3d: the kernel must be 5-D (kd, kh, kw, in_channels, filters) with known dims, "
                         f"got shape {format_shape(kernel.shape)}")
    kd, kh, kw, c_in, filters = kernel.shape
    if x.shape[4] is not None and x.shape[4] != c_in:
        raise ValueError(f"conv3d: input channels {x.shape[4]} != kernel input channels {c_in} (input shape "
                         f"{format_shape(x.shape)} as channels_last, kernel shape {format_shape(kernel.shape)})")
    taps, depth = _depth_taps(x, kd, strides[0], padding, dilation[0])
    gathered = taps[0] if kd == 1 else concatenate(taps, axis=4)          # (N, Do, H, W, kd*in)
    rows, cols = x.shape[2], x.shape[3]
    flat = reshape(gathered, (-1, rows, cols, kd * c_in))
    k2 = reshape(transpose(kernel, (1, 2, 0, 3, 4)), (kh, kw, kd * c_in, filters))
    y = conv2d(flat, k2, strides[1:], padding, "channels_last", dilation[1:])
    return _back(reshape(y, (-1, depth, y.shape[1], y.shape[2], filters)), data_format)


def _spread(z: Tensor, stride: int, before: int, after: int) -> Tensor:
    """``z`` (N, depth, ...) with ``stride - 1`` zero slices between its depth slices, then
    ``before`` and ``after`` zero slices around: depth ``o`` lands at ``o * stride + before``."""
    depth = z.shape[1]
    if stride > 1:
        zero = zeros_like(z)
        z = reshape(concatenate([_unit_axis(z)] + [_unit_axis(zero)] * (stride - 1), axis=2),
                    (-1, depth * stride) + tuple(z.shape[2:]))[:, :(depth - 1) * stride + 1]
    return pad(z, ((0, 0), (before, after)) + ((0, 0),) * (z.ndim - 2))


def _unit_axis(z: Tensor) -> Tensor:
    """(N, depth, ...) -> (N, depth, 1, ...): the slices interleave along the new axis."""
    return reshape(z, (-1, z.shape[1], 1) + tuple(z.shape[2:]))


@user_errors
def conv3d_transpose(y, kernel, strides=(1, 1, 1), padding="valid", data_format="channels_last") -> Tensor:
    """Transposed 3-D convolution, the adjoint of ``conv3d`` in its input, with a Keras
    Conv3DTranspose kernel ``(kd, kh, kw, filters, in)``. Output lengths as Keras 2's
    ``deconv_length``: 'valid' ``n * s + max(k - s, 0)``, 'same' ``n * s``.

    >>> gf.nn.conv3d_transpose(y, k, strides=2, padding="same").shape   # y (None, 4, 4, 4, 8)
    (None, 8, 8, 8, 3)                                                  # k (3, 3, 3, 3, 8)
    """
    y, kernel = operands(y, kernel)
    if is_float(y.dtype) and is_float(kernel.dtype) and y.dtype != kernel.dtype:
        dtype = result_type(y.dtype, kernel.dtype)
        y, kernel = cast(y, dtype), cast(kernel, dtype)
    strides = triple(strides, "conv3d_transpose strides")
    padding, data_format, y = _layout(y, padding, data_format, "conv3d_transpose")
    if kernel.ndim != 5 or None in kernel.shape:
        raise ValueError(f"conv3d_transpose: the kernel must be 5-D (kd, kh, kw, filters, in_channels) with known "
                         f"dims, got shape {format_shape(kernel.shape)}")
    kd, filters, c_in = kernel.shape[0], kernel.shape[3], kernel.shape[4]
    if y.shape[4] is not None and y.shape[4] != c_in:
        raise ValueError(f"conv3d_transpose: input channels {y.shape[4]} != kernel input channels {c_in} (input "
                         f"shape {format_shape(y.shape)} as channels_last, kernel shape {format_shape(kernel.shape)})")
    depth, rows, cols = y.shape[1:4]
    sd = strides[0]
    out_depth = depth * sd + (max(kd - sd, 0) if padding == "valid" else 0)
    full = (depth - 1) * sd + kd
    crop = max(kd - sd, 0) // 2 if padding == "same" else 0
    planes = reshape(y, (-1, rows, cols, c_in))
    total = None
    for a in range(kd):
        z = conv2d_transpose(planes, kernel[a], strides[1:], padding, "channels_last")
        z = reshape(z, (-1, depth, z.shape[1], z.shape[2], filters))
        z = _spread(z, sd, a, max(full, out_depth + crop) - (depth - 1) * sd - 1 - a)
        total = z if total is None else total + z
    return _back(total[:, crop:crop + out_depth], data_format)


def _pool3d(pool2d, what, x, pool_size, strides, padding, data_format) -> Tensor:
    (x,) = operands(x)
    pool_size = triple(pool_size, f"{what} pool_size")
    strides = pool_size if strides is None else triple(strides, f"{what} strides")
    padding, data_format, x = _layout(x, padding, data_format, what)
    depth, rows, cols, channels = x.shape[1:]
    out_depth = output_length(depth, pool_size[0], strides[0], padding, 1, "input depth")
    planes = pool2d(reshape(x, (-1, rows, cols, channels)), pool_size[1:], strides[1:], padding)
    out_rows, out_cols = planes.shape[1], planes.shape[2]
    columns = reshape(planes, (-1, depth, out_rows * out_cols, channels))
    y = pool2d(columns, (pool_size[0], 1), (strides[0], 1), padding)
    return _back(reshape(y, (-1, out_depth, out_rows, out_cols, channels)), data_format)


@user_errors
def max_pool3d(x, pool_size=(2, 2, 2), strides=None, padding="valid", data_format="channels_last") -> Tensor:
    """3-D max pooling; ``strides=None`` means the pool size.

    >>> gf.nn.max_pool3d(x).shape                # x (None, 8, 8, 8, 2)
    (None, 4, 4, 4, 2)
    """
    return _pool3d(max_pool2d, "max_pool3d", x, pool_size, strides, padding, data_format)


@user_errors
def avg_pool3d(x, pool_size=(2, 2, 2), strides=None, padding="valid", data_format="channels_last") -> Tensor:
    """3-D average pooling; 'same' divides by the number of real cells in each window.

    >>> gf.nn.avg_pool3d(x, 3, strides=2, padding="same").shape   # x (None, 8, 8, 8, 2)
    (None, 4, 4, 4, 2)
    """
    return _pool3d(avg_pool2d, "avg_pool3d", x, pool_size, strides, padding, data_format)
