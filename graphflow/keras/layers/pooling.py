"""Pooling layers: MaxPooling2D / AveragePooling2D (``strides=None`` means the pool
size; 'valid' drops the remainder, 7 -> 3) and the global poolings.

    >>> model.add(MaxPooling2D(pool_size=(2, 2)))
"""
import graphflow as gf

from .._utils import normalize_data_format, normalize_padding, normalize_tuple
from ..engine.base_layer import Layer


class _Pooling2D(Layer):
    _pool = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size")
        self.strides = normalize_tuple(self.pool_size if strides is None else strides, 2, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = {"ndim": 4}

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


class _GlobalPooling2D(Layer):
    _reduce = None

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = {"ndim": 4}

    def call(self, inputs):
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return getattr(gf, self._reduce)(inputs, axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """(batch, rows, cols, channels) -> (batch, channels): the mean over rows and cols."""
    _reduce = "mean"


class GlobalMaxPooling2D(_GlobalPooling2D):
    """(batch, rows, cols, channels) -> (batch, channels): the max over rows and cols."""
    _reduce = "max"


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
