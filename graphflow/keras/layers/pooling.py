"""Pooling layers: MaxPooling1D/2D/3D and AveragePooling1D/2D/3D (``strides=None`` means
the pool size; 'valid' drops the remainder, 7 -> 3) and the global poolings.

    >>> model.add(MaxPooling2D(pool_size=(2, 2)))
"""
import graphflow as gf

from .._utils import normalize_data_format, normalize_padding, normalize_tuple
from ..engine.base_layer import Layer


class _Pooling2D(Layer):
    _pool = None
    rank = 2

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size")
        self.strides = normalize_tuple(self.pool_size if strides is None else strides, self.rank, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = {"ndim": self.rank + 2}

    def call(self, inputs):
        pool = getattr(gf.nn, self._pool)
        return pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    """The largest value of each window."""
    _pool = "max_pool2d"


class AveragePooling2D(_Pooling2D):
    """The mean of each window ('same' windows average their real cells only)."""
    _pool = "avg_pool2d"


class _Pooling3D(_Pooling2D):
    """Pooling over (depth, rows, cols) of ``(batch, depth, rows, cols, channels)``
    (channels_first: ``(batch, channels, depth, rows, cols)``)."""
    rank = 3

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling3D):
    """The largest value of each (depth, rows, cols) window."""
    _pool = "max_pool3d"


class AveragePooling3D(_Pooling3D):
    """The mean of each (depth, rows, cols) window ('same' windows average their real
    cells only)."""
    _pool = "avg_pool3d"


class _Pooling1D(Layer):
    """Pooling over the steps of ``(batch, steps, features)``: the 2-D pooling of a
    one-row image. ``data_format='channels_first'`` reads ``(batch, features, steps)``."""
    _pool = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, 1, "pool_size")
        self.strides = normalize_tuple(self.pool_size if strides is None else strides, 1, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format or "channels_last")
        self.input_spec = {"ndim": 3}

    def call(self, inputs):
        axis = 1 if self.data_format == "channels_last" else 2
        pooled = getattr(gf.nn, self._pool)(gf.expand_dims(inputs, axis), (1,) + self.pool_size,
                                            (1,) + self.strides, self.padding, self.data_format)
        return gf.squeeze(pooled, axis)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size[0], "padding": self.padding,
                "strides": self.strides[0], "data_format": self.data_format}


class MaxPooling1D(_Pooling1D):
    """The largest value of each window of steps."""
    _pool = "max_pool2d"


class AveragePooling1D(_Pooling1D):
    """The mean of each window of steps."""
    _pool = "avg_pool2d"


class _GlobalPooling(Layer):
    _reduce = None
    rank = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format if self.rank > 1 else data_format or "channels_last")
        self.input_spec = {"ndim": self.rank + 2}

    def call(self, inputs):
        first = 1 if self.data_format == "channels_last" else 2
        return getattr(gf, self._reduce)(inputs, tuple(range(first, first + self.rank)))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class GlobalAveragePooling2D(_GlobalPooling):
    """(batch, rows, cols, channels) -> (batch, channels): the mean over rows and cols."""
    _reduce = "mean"


class GlobalMaxPooling2D(_GlobalPooling):
    """(batch, rows, cols, channels) -> (batch, channels): the max over rows and cols."""
    _reduce = "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """(batch, steps, features) -> (batch, features): the mean over the steps."""
    _reduce = "mean"
    rank = 1


class GlobalMaxPooling1D(_GlobalPooling):
    """(batch, steps, features) -> (batch, features): the max over the steps."""
    _reduce = "max"
    rank = 1


class GlobalAveragePooling3D(_GlobalPooling):
    """(batch, depth, rows, cols, channels) -> (batch, channels): the mean over the volume."""
    _reduce = "mean"
    rank = 3


class GlobalMaxPooling3D(_GlobalPooling):
    """(batch, depth, rows, cols, channels) -> (batch, channels): the max over the volume."""
    _reduce = "max"
    rank = 3


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
MaxPool3D = MaxPooling3D
AvgPool3D = AveragePooling3D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool3D = GlobalMaxPooling3D
