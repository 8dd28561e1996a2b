"""Layers that change spatial sizes without weights: zero padding, cropping and
nearest-neighbour upsampling, for sequences (``...1D``: ``(batch, steps, features)``),
images (``...2D``) and volumes (``...3D``: ``(batch, depth, rows, cols, channels)``), the
last two in either data format. Keras 2.0.6 keeps them in
``keras.layers.convolutional``, which re-exports them.

    >>> model.add(ZeroPadding2D(1)); model.add(UpSampling2D((2, 2))); model.add(Cropping2D(((1, 1), (2, 0))))
"""
import graphflow as gf

from .. import backend as K
from .._utils import normalize_data_format, normalize_tuple
from ..engine.base_layer import Layer


def _pairs(value, n, what):
    """An int, n ints (symmetric) or n pairs -> n (before, after) pairs."""
    if isinstance(value, int):
        return ((value, value),) * n
    if not isinstance(value, (tuple, list)):
        raise ValueError(f"`{what}` should be an int, a tuple of {n} ints or a tuple of {n} (before, after) "
                         f"pairs. Found: {value!r}")
    value = tuple(value)
    if n == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (value,)
    if len(value) != n:
        raise ValueError(f"`{what}` should have {n} elements. Found: {value}")
    if all(isinstance(v, int) for v in value):
        return tuple((v, v) for v in value)
    return tuple(normalize_tuple(v, 2, what) for v in value)


class _Spatial(Layer):
    """The spatial axes of a ``rank``-D layer's input, by data format."""

    rank = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format) if self.rank > 1 else "channels_last"
        self.input_spec = {"ndim": self.rank + 2}

    @property
    def _axes(self):
        return tuple(range(1, self.rank + 1)) if self.data_format == "channels_last" \
            else tuple(range(2, self.rank + 2))

    def get_config(self):
        config = super().get_config()
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class _ZeroPadding(_Spatial):
    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, "padding")

    def call(self, inputs):
        pads = [(0, 0)] * inputs.ndim
        for axis, pair in zip(self._axes, self.padding):
            pads[axis] = pair
        return gf.pad(inputs, tuple(pads))


class ZeroPadding1D(_ZeroPadding):
    """Zeros before and after the steps: ``padding`` is an int or ``(before, after)``."""

    rank = 1

    def __init__(self, padding=1, **kwargs):
        super().__init__(padding, **kwargs)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding[0]}


class ZeroPadding2D(_ZeroPadding):
    """Zero rows and columns: ``padding`` is an int, (rows, cols) or
    ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


class _Cropping(_Spatial):
    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping")

    def call(self, inputs):
        key = [slice(None)] * inputs.ndim
        for axis, (before, after) in zip(self._axes, self.cropping):
            length = inputs.shape[axis]
            if length is not None and before + after > length:  # all of it is allowed: length 0
                raise ValueError(f"layer {self.name}: cropping {(before, after)} is more than axis {axis} "
                                 f"(length {length}) of input shape {inputs.shape}")
            key[axis] = slice(before, -after if after else None)
        return inputs[tuple(key)]


class Cropping1D(_Cropping):
    """Drop ``cropping = (before, after)`` steps at the start and the end."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping[0]}


class Cropping2D(_Cropping):
    """Drop rows and columns at the borders: ``cropping`` is an int, (rows, cols) or
    ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class _UpSampling(_Spatial):
    def __init__(self, size, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(size, self.rank, "size")

    def call(self, inputs):
        for axis, factor in zip(self._axes, self.size):
            inputs = K.repeat_elements(inputs, factor, axis)
        return inputs


class UpSampling1D(_UpSampling):
    """Repeat each step ``size`` times."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size[0]}


class UpSampling2D(_UpSampling):
    """Repeat rows and columns ``size = (rows, cols)`` times (nearest neighbour)."""

    def __init__(self, size=(2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class ZeroPadding3D(_ZeroPadding):
    """Zeros around a volume: ``padding`` is an int, (depth, rows, cols) or
    ((front, back), (top, bottom), (left, right))."""

    rank = 3

    def __init__(self, padding=(1, 1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


class Cropping3D(_Cropping):
    """Drop slices at a volume's borders: ``cropping`` is an int, (depth, rows, cols) or
    ((front, back), (top, bottom), (left, right))."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class UpSampling3D(_UpSampling):
    """Repeat depth, rows and columns ``size = (depth, rows, cols)`` times."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size}
