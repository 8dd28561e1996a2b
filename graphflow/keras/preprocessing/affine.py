"""Affine image transforms of Keras 2's ``preprocessing.image``, on single images.

An image is a 3-D array with a channel axis; row/col/channel axes are given explicitly.
A transform is a 3x3 homogeneous matrix in (row, col) pixel coordinates that maps an
OUTPUT pixel to the INPUT pixel it samples (scipy's ``affine_transform`` convention, as in
Keras). Matrices are composed about the image centre and applied with order-0 (nearest
neighbour) sampling.

    >>> import numpy as np
    >>> x = np.arange(9.).reshape(3, 3, 1)
    >>> m = transform_matrix_offset_center(rotation_matrix(np.pi / 2), 3, 3)
    >>> apply_transform(x, m, channel_axis=2)[..., 0]     # +90 degrees turns clockwise
    array([[6., 3., 0.],
           [7., 4., 1.],
           [8., 5., 2.]])
"""
import numpy as np
from scipy import ndimage

# Keras's names for the boundary modes -> scipy's. scipy >= 1.6 renamed the period-n wrap
# Keras documents ('abcd|abcd') to 'grid-wrap'; plain 'wrap' now has period n-1.
FILL_MODES = {"constant": "grid-constant", "nearest": "nearest", "reflect": "reflect",
              "wrap": "grid-wrap"}


def rotation_matrix(theta):
    """Rotation by ``theta`` radians."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s, 0.], [s, c, 0.], [0., 0., 1.]])


def shift_matrix(tx, ty):
    """Translation by ``tx`` rows and ``ty`` columns (the sampled point moves by +t)."""
    return np.array([[1., 0., tx], [0., 1., ty], [0., 0., 1.]])


def shear_matrix(shear):
    """Shear by ``shear`` radians (Keras 2.0.6 takes radians; later versions degrees)."""
    return np.array([[1., -np.sin(shear), 0.], [0., np.cos(shear), 0.], [0., 0., 1.]])


def zoom_matrix(zx, zy):
    """Zoom: a factor > 1 samples a larger area, so the content looks smaller."""
    return np.array([[zx, 0., 0.], [0., zy, 0.], [0., 0., 1.]])


def transform_matrix_offset_center(matrix, x, y):
    """Conjugate ``matrix`` so that it acts about the centre of an ``x`` by ``y`` image.

    The centre of pixel indices 0..n-1 is (n-1)/2. Keras 2.0.6 used n/2 + 0.5, one pixel
    off, so its 90-degree rotations were not exact; graphflow uses the true centre.
    """
    o_x, o_y = (x - 1) / 2.0, (y - 1) / 2.0
    offset = np.array([[1., 0., o_x], [0., 1., o_y], [0., 0., 1.]])
    reset = np.array([[1., 0., -o_x], [0., 1., -o_y], [0., 0., 1.]])
    return offset @ matrix @ reset


def apply_transform(x, transform_matrix, channel_axis=0, fill_mode="nearest", cval=0.):
    """Apply a centred 3x3 ``transform_matrix`` to each channel of image ``x``.

    ``fill_mode`` is how points outside the image are filled: 'constant' (with ``cval``),
    'nearest' (aaaa|abcd|dddd), 'reflect' (dcba|abcd|dcba) or 'wrap' (abcd|abcd|abcd).
    """
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {sorted(FILL_MODES)}; got {fill_mode!r}")
    channels = np.moveaxis(x, channel_axis, 0)
    matrix, offset = transform_matrix[:2, :2], transform_matrix[:2, 2]
    out = np.stack([ndimage.affine_transform(c, matrix, offset, order=0,
                                             mode=FILL_MODES[fill_mode], cval=cval)
                    for c in channels])
    return np.moveaxis(out, 0, channel_axis)


def flip_axis(x, axis):
    """Reverse ``x`` along ``axis`` (a copy)."""
    return np.flip(np.asarray(x), axis).copy()


def random_channel_shift(x, intensity, channel_axis=0, rng=np.random):
    """Add one uniform(-intensity, intensity) offset per channel, clipped to x's range."""
    channels = np.moveaxis(x, channel_axis, 0)
    lo, hi = np.min(channels), np.max(channels)
    out = np.stack([np.clip(c + rng.uniform(-intensity, intensity), lo, hi) for c in channels])
    return np.moveaxis(out, 0, channel_axis)


def _apply_centred(x, matrix, row_axis, col_axis, channel_axis, fill_mode, cval):
    h, w = x.shape[row_axis], x.shape[col_axis]
    return apply_transform(x, transform_matrix_offset_center(matrix, h, w), channel_axis,
                           fill_mode, cval)


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.):
    """Rotate by a uniform angle in [-rg, rg] degrees."""
    theta = np.deg2rad(np.random.uniform(-rg, rg))
    return _apply_centred(x, rotation_matrix(theta), row_axis, col_axis, channel_axis, fill_mode, cval)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.):
    """Shift by uniform fractions of the height (``hrg``) and width (``wrg``)."""
    tx = np.random.uniform(-hrg, hrg) * x.shape[row_axis]
    ty = np.random.uniform(-wrg, wrg) * x.shape[col_axis]
    return _apply_centred(x, shift_matrix(tx, ty), row_axis, col_axis, channel_axis, fill_mode, cval)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.):
    """Shear by a uniform angle in [-intensity, intensity] radians."""
    shear = np.random.uniform(-intensity, intensity)
    return _apply_centred(x, shear_matrix(shear), row_axis, col_axis, channel_axis, fill_mode, cval)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.):
    """Zoom rows and columns by independent uniform factors in ``zoom_range`` = (lo, hi)."""
    if len(zoom_range) != 2:
        raise ValueError(f"zoom_range should be a (lower, upper) pair; got {zoom_range!r}")
    zx, zy = (1., 1.) if tuple(zoom_range) == (1, 1) else np.random.uniform(*zoom_range, 2)
    return _apply_centred(x, zoom_matrix(zx, zy), row_axis, col_axis, channel_axis, fill_mode, cval)
