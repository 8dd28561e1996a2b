"""Keras 2's backend functions for volumes, unshared (locally connected) convolutions and
batched dot products (re-exported by ``graphflow.keras.backend``), with Keras 2.0.6's
signatures and semantics.

    >>> from graphflow.keras import backend as K
    >>> y = K.conv3d(x, kernel, padding="same")              # (N, D, H, W, C) by default
    >>> K.batch_dot(a, b, axes=(1, 1))                        # (b, n) . (b, n) -> (b, 1)
"""
import graphflow as gf

from . import backend_config as _config
from .backend_math import repeat_elements

__all__ = ["batch_dot", "conv3d", "conv3d_transpose", "pool3d", "spatial_3d_padding", "resize_volumes", "local_conv1d", "local_conv2d"]


def _known(x, axes, what):
    dims = [x.shape[a] for a in axes]
    if None in dims:
        raise ValueError(f"{what}: axes {list(axes)} of shape {tuple(x.shape)} must be known when the graph is built")
    return dims


def batch_dot(x, y, axes=None):
    """Dot products of matching batch entries, contracting axis ``axes[0]`` of ``x`` with
    axis ``axes[1]`` of ``y``: the result has ``x``'s other axes, then ``y``'s (batch
    first); a result that would be 1-D is ``(batch, 1)``. ``axes`` defaults to the last of
    ``x`` and the second-last of ``y`` (a batched matmul), as Keras 2.0.6.

    >>> K.batch_dot(a, b, axes=(2, 1))    # (b, n, k) x (b, k, m) -> (b, n, m)
    """
    if axes is None:
        axes = [x.ndim - 1, y.ndim - 2 if y.ndim > 2 else 1]
    axes = [axes, axes] if isinstance(axes, int) else list(axes)
    if len(axes) != 2:
        raise ValueError(f"batch_dot: axes must be an int or a pair, got {axes!r}")
    ax, ay = axes[0] % x.ndim, axes[1] % y.ndim
    if 0 in (ax, ay) or min(x.ndim, y.ndim) < 2:
        raise ValueError(f"batch_dot contracts non-batch axes of two tensors of rank >= 2, got axes={axes} for "
                         f"shapes {tuple(x.shape)} and {tuple(y.shape)}")
    if None not in (x.shape[ax], y.shape[ay]) and x.shape[ax] != y.shape[ay]:
        raise ValueError(f"batch_dot: axis {ax} of {tuple(x.shape)} and axis {ay} of {tuple(y.shape)} differ")
    rest_x = [a for a in range(1, x.ndim) if a != ax]
    rest_y = [a for a in range(1, y.ndim) if a != ay]
    if not rest_x and not rest_y:  # two rows: a sum of products (no reshape, any length)
        return gf.sum(x * y, 1, keepdims=True)
    kx, ky = _known(x, rest_x, "batch_dot"), _known(y, rest_y, "batch_dot")
    depth = x.shape[ax] if x.shape[ax] is not None else y.shape[ay]
    if depth is None:
        raise ValueError(f"batch_dot: the contracted axis of {tuple(x.shape)} and {tuple(y.shape)} must be known")
    left = gf.reshape(gf.transpose(x, (0, *rest_x, ax)), (-1, _prod(kx), depth))
    right = gf.reshape(gf.transpose(y, (0, ay, *rest_y)), (-1, depth, _prod(ky)))
    out = gf.matmul(left, right)
    return gf.reshape(out, (-1, *kx, *ky) if kx or ky else (-1, 1))


def _prod(dims):
    out = 1
    for d in dims:
        out *= d
    return out


def conv3d(x, kernel, strides=(1, 1, 1), padding="valid", data_format=None, dilation_rate=(1, 1, 1)):
    """3-D convolution (``gf.nn.conv3d``), kernel ``(kd, kh, kw, in, filters)``."""
    return gf.nn.conv3d(x, kernel, strides, padding, data_format or _config.image_data_format(), dilation_rate)


def conv3d_transpose(x, kernel, output_shape=None, strides=(1, 1, 1), padding="valid", data_format=None):
    """Transposed 3-D convolution (``gf.nn.conv3d_transpose``), kernel ``(kd, kh, kw,
    filters, in)``; ``output_shape`` (Keras 2 passes it) is checked, not needed."""
    y = gf.nn.conv3d_transpose(x, kernel, strides, padding, data_format or _config.image_data_format())
    if output_shape is not None and any(a is not None and b is not None and int(a) != b
                                        for a, b in zip(output_shape[1:], y.shape[1:])):
        raise ValueError(f"conv3d_transpose: output_shape {tuple(output_shape)} does not match the shape "
                         f"{y.shape} these strides and padding give")
    return y


def pool3d(x, pool_size, strides=(1, 1, 1), padding="valid", data_format=None, pool_mode="max"):
    """3-D max (``pool_mode='max'``) or average (``'avg'``) pooling."""
    pool = {"max": gf.nn.max_pool3d, "avg": gf.nn.avg_pool3d}.get(pool_mode)
    if pool is None:
        raise ValueError(f"Invalid pooling mode: {pool_mode!r}; expected 'max' or 'avg'")
    return pool(x, pool_size, strides, padding, data_format or _config.image_data_format())


def _spatial_axes(ndim, data_format):
    data_format = data_format or _config.image_data_format()
    return tuple(range(1, ndim - 1)) if data_format == "channels_last" else tuple(range(2, ndim))


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    """Zeros before and after depth, rows and cols: three (before, after) pairs."""
    pads = [(0, 0)] * 5
    for axis, pair in zip(_spatial_axes(5, data_format), padding):
        pads[axis] = tuple(pair)
    return gf.pad(x, tuple(pads))


def resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    """Nearest-neighbour upsampling of the three spatial axes by integer factors."""
    for axis, factor in zip(_spatial_axes(5, data_format), (depth_factor, height_factor, width_factor)):
        x = repeat_elements(x, factor, axis)
    return x


def _unshared(patches, kernel):
    """(N, P, feature) patches times per-position kernels (P, feature, filters) -> (N, P, filters)."""
    return gf.transpose(gf.matmul(gf.transpose(patches, (1, 0, 2)), kernel), (1, 0, 2))


def local_conv1d(inputs, kernel, kernel_size, strides, data_format=None):
    """Convolution with a separate kernel per output step: ``inputs`` ``(N, steps, in)``,
    ``kernel`` ``(out_steps, kernel_size * in, filters)`` (each window flattened step-major,
    as Keras 2.0.6) -> ``(N, out_steps, filters)``."""
    out_len, feature, _ = kernel.shape
    k, s = int(kernel_size[0]), int(strides[0])
    span = (out_len - 1) * s + 1
    taps = [inputs[:, a:a + span:s, :] for a in range(k)]                 # k x (N, L, in)
    patches = gf.reshape(gf.stack(taps, 2), (-1, out_len, feature))
    return _unshared(patches, kernel)


def local_conv2d(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    """Convolution with a separate kernel per output pixel: ``kernel`` ``(rows * cols,
    kh * kw * in, filters)``; each window is flattened as ``(kh, kw, in)`` for channels_last
    and ``(in, kh, kw)`` for channels_first, as Keras 2.0.6 -> ``(N, rows, cols, filters)``
    (channels_first: ``(N, filters, rows, cols)``)."""
    data_format = data_format or _config.image_data_format()
    (kh, kw), (sr, sc), (rows, cols) = kernel_size, strides, output_shape
    _, feature, filters = kernel.shape
    span_r, span_c = (rows - 1) * sr + 1, (cols - 1) * sc + 1
    if data_format == "channels_last":
        taps = [inputs[:, a:a + span_r:sr, b:b + span_c:sc, :] for a in range(kh) for b in range(kw)]
        patches = gf.stack(taps, 3)                                           # (N, R, C, kh*kw, in)
    else:
        taps = [inputs[:, :, a:a + span_r:sr, b:b + span_c:sc] for a in range(kh) for b in range(kw)]
        patches = gf.transpose(gf.stack(taps, 2), (0, 3, 4, 1, 2))          # (N, R, C, in, kh*kw)
    out = _unshared(gf.reshape(patches, (-1, rows * cols, feature)), kernel)
    out = gf.reshape(out, (-1, rows, cols, filters))
    return out if data_format == "channels_last" else gf.transpose(out, (0, 3, 1, 2))
