"""Real-time image augmentation and normalisation: Keras 2.0.6's ``ImageDataGenerator``.

    >>> import numpy as np
    >>> from graphflow.keras.preprocessing.image import ImageDataGenerator
    >>> gen = ImageDataGenerator(rotation_range=10, horizontal_flip=True, rescale=1 / 255.)
    >>> x, y = next(gen.flow(np.zeros((8, 28, 28, 1)), np.arange(8), batch_size=4, seed=0))
    >>> x.shape, x.dtype
    ((4, 28, 28, 1), dtype('float32'))

Deliberate deviations from 2.0.6 (see docs/keras-data.md): samplewise centring and
scaling use the statistics of the whole image, as Keras fixed in 2.1, not those of each
pixel across its channels; transforms turn about the true image centre (n-1)/2; and
random numbers come from a per-iterator generator (seeded by ``seed``, or from NumPy's
global generator when ``seed`` is None) instead of reseeding the global one.
"""
import warnings

import numpy as np
from scipy import linalg

from .affine import (FILL_MODES, apply_transform, flip_axis, random_channel_shift,  # noqa: F401
                     random_rotation, random_shear, random_shift, random_zoom, rotation_matrix,
                     shear_matrix, shift_matrix, transform_matrix_offset_center, zoom_matrix)
from .. import backend as K
from .image_io import _data_format, _floatx, array_to_img, img_to_array, list_pictures, load_img  # noqa: F401
from .iterators import DirectoryIterator, Iterator, NumpyArrayIterator  # noqa: F401


class ImageDataGenerator:
    """Generate batches of images with random augmentation and normalisation.

    Augmentation (``random_transform``, per image, in this order): rotation by a uniform
    angle in +-``rotation_range`` degrees, shifts by +-``height_shift_range`` /
    ``width_shift_range`` fractions of the height/width, shear by +-``shear_range`` radians,
    zoom by factors drawn from ``zoom_range`` (a float z means [1-z, 1+z]) -- composed as one
    affine map about the image centre, filled by ``fill_mode`` ('constant' with ``cval``,
    'nearest', 'reflect' or 'wrap') -- then a per-channel shift of +-``channel_shift_range``,
    then a horizontal and a vertical flip, each with probability 1/2 when enabled.

    Normalisation (``standardize``, per image, in this order): ``preprocessing_function``,
    ``rescale`` (a factor), samplewise centring and std scaling, featurewise centring and
    std scaling, ZCA whitening (``zca_epsilon``). Featurewise statistics come from ``fit``.

        >>> gen = ImageDataGenerator(featurewise_center=True)
        >>> gen.fit(np.arange(8.).reshape(2, 2, 2, 1))
        >>> float(gen.mean.ravel()[0])
        3.5
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0., width_shift_range=0.,
                 height_shift_range=0., shear_range=0., zoom_range=0., channel_shift_range=0.,
                 fill_mode="nearest", cval=0., horizontal_flip=False, vertical_flip=False,
                 rescale=None, preprocessing_function=None, data_format=None):
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.channel_shift_range = channel_shift_range
        if fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {sorted(FILL_MODES)}; got {fill_mode!r}")
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.data_format = _data_format(data_format)
        # axes of a BATCH; a single image's axes are one less
        self.channel_axis, self.row_axis, self.col_axis = (
            (3, 1, 2) if self.data_format == "channels_last" else (1, 2, 3))
        self.zoom_range = _zoom_range(zoom_range)
        self.mean = self.std = self.principal_components = None

    def flow(self, x, y=None, batch_size=32, shuffle=True, seed=None, save_to_dir=None,
             save_prefix="", save_format="png"):
        """An endless ``NumpyArrayIterator`` over rank-4 ``x`` (and labels ``y``)."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                  data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32, shuffle=True,
                            seed=None, save_to_dir=None, save_prefix="", save_format="png",
                            follow_links=False):
        """An endless ``DirectoryIterator`` over ``directory/<class>/*.{png,jpg,jpeg,bmp}``."""
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode,
                                 classes=classes, class_mode=class_mode, batch_size=batch_size,
                                 shuffle=shuffle, seed=seed, data_format=self.data_format,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, follow_links=follow_links)

    def standardize(self, x):
        """Normalise one image (no batch axis); returns a new float array."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        x = np.array(x, dtype=np.result_type(np.asarray(x).dtype, _floatx()))
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + K.epsilon()
        if self.featurewise_center:
            if self._fitted("mean", "featurewise_center"):
                x -= self.mean
        if self.featurewise_std_normalization:
            if self._fitted("std", "featurewise_std_normalization"):
                x /= self.std + K.epsilon()
        if self.zca_whitening:
            if self._fitted("principal_components", "zca_whitening"):
                x = (x.reshape(1, -1) @ self.principal_components).reshape(x.shape).astype(x.dtype)
        return x

    def random_transform(self, x, seed=None):
        """Randomly augment one image (no batch axis); ``seed`` makes it repeatable.

        Unlike Keras 2, a seed does not reseed NumPy's global generator.
        """
        rng = np.random if seed is None else np.random.RandomState(seed)
        row, col, channel = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        matrix = self._random_matrix(rng, x.shape[row], x.shape[col])
        if matrix is not None:
            matrix = transform_matrix_offset_center(matrix, x.shape[row], x.shape[col])
            x = apply_transform(x, matrix, channel, fill_mode=self.fill_mode, cval=self.cval)
        if self.channel_shift_range:
            x = random_channel_shift(x, self.channel_shift_range, channel, rng)
        if self.horizontal_flip and rng.random_sample() < 0.5:
            x = flip_axis(x, col)
        if self.vertical_flip and rng.random_sample() < 0.5:
            x = flip_axis(x, row)
        return x

    def _random_matrix(self, rng, h, w):
        """The composed rotation @ shift @ shear @ zoom, or None when it is the identity."""
        def draw(limit):
            return rng.uniform(-limit, limit) if limit else 0.
        theta = np.deg2rad(draw(self.rotation_range))
        tx = draw(self.height_shift_range) * h
        ty = draw(self.width_shift_range) * w
        shear = draw(self.shear_range)
        zx, zy = ((1., 1.) if self.zoom_range == (1., 1.)
                  else rng.uniform(self.zoom_range[0], self.zoom_range[1], 2))
        if not (theta or tx or ty or shear or zx != 1 or zy != 1):
            return None
        return (rotation_matrix(theta) @ shift_matrix(tx, ty) @ shear_matrix(shear)
                @ zoom_matrix(zx, zy))

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the featurewise mean/std and ZCA matrix from sample images ``x``.

        ``x`` is rank 4. With ``augment`` the statistics are taken over ``rounds``
        randomly transformed copies of ``x``. ``rescale`` and ``preprocessing_function``
        are not applied here (as in Keras).
        """
        x = np.array(x, dtype=_floatx())
        if x.ndim != 4:
            raise ValueError(f"Input to `.fit()` should have rank 4; got array with shape {x.shape}")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.fit: data_format={self.data_format!r} puts the "
                          f"channels on axis {self.channel_axis}, but x of shape {x.shape} has "
                          f"{x.shape[self.channel_axis]} there, not 1, 3 or 4", stacklevel=2)
        if augment:
            base = np.random.RandomState(seed).randint(2 ** 31 - 1) if seed is not None else None
            x = np.stack([self.random_transform(img, None if base is None else base + k)
                          for k, img in enumerate(np.tile(x, (rounds, 1, 1, 1)))])
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.mean(x, axis=axes).reshape(shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=axes).reshape(shape)
            x /= self.std + K.epsilon()
        if self.zca_whitening:
            flat = x.reshape(len(x), -1)
            sigma = flat.T @ flat / len(flat)
            u, s, _ = linalg.svd(sigma)
            self.principal_components = (u * (1. / np.sqrt(s + self.zca_epsilon))) @ u.T

    def _fitted(self, attribute, option):
        if getattr(self, attribute) is not None:
            return True
        warnings.warn(f"This ImageDataGenerator specifies `{option}`, but it hasn't been fit on "
                      "any training data. Fit it first by calling `.fit(numpy_data)`.", stacklevel=3)
        return False


def _zoom_range(zoom_range):
    if np.isscalar(zoom_range):
        return (1. - zoom_range, 1. + zoom_range)
    if len(zoom_range) == 2:
        return (float(zoom_range[0]), float(zoom_range[1]))
    raise ValueError(f"zoom_range should be a float or a (lower, upper) pair; got {zoom_range!r}")
