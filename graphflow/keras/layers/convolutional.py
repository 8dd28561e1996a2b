"""Convolution layers: Conv2D (cross-correlation, kernel ``(kh, kw, in, filters)`` in
both data formats, TensorFlow-style 'same' padding) and ZeroPadding2D.

    >>> model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(100, 100, 3)))
"""
import graphflow as gf

from .. import activations
from .._utils import normalize_data_format, normalize_padding, normalize_tuple
from ..engine.base_layer import Layer
from ._options import KERNEL_AND_BIAS, options_config, set_options


class Conv2D(Layer):
    """``activation(conv2d(x, kernel) + bias)`` with ``filters`` output channels."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = 2
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size")
        self.strides = normalize_tuple(strides, 2, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        set_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                    kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                    activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                    bias_constraint=bias_constraint)
        self.input_spec = {"ndim": 4}

    @property
    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def build(self, input_shape):
        input_dim = input_shape[self._channel_axis]
        if input_dim is None:
            raise ValueError(f"layer {self.name}: the channel dimension of the inputs should be defined. Found "
                             f"`None` (input shape {input_shape}, data_format={self.data_format!r}).")
        self.kernel = self.add_weight("kernel", self.kernel_size + (input_dim, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.filters,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        self.input_spec = {"ndim": 4, "axes": {self._channel_axis: input_dim}}
        self.built = True

    def call(self, inputs):
        out = gf.nn.conv2d(inputs, self.kernel, self.strides, self.padding, self.data_format, self.dilation_rate)
        if self.use_bias:
            out = gf.nn.bias_add(out, self.bias, self.data_format)
        return self.activation(out)

    def get_config(self):
        config = {"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                  "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                  "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                  **options_config(self, KERNEL_AND_BIAS)}
        return {**super().get_config(), **config}


Convolution2D = Conv2D


def _padding_pairs(padding):
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    if len(padding) != 2:
        raise ValueError(f"`padding` should have two elements. Found: {padding}")
    if all(isinstance(p, int) for p in padding):
        return ((padding[0], padding[0]), (padding[1], padding[1]))
    return tuple(normalize_tuple(p, 2, "padding") for p in padding)


class ZeroPadding2D(Layer):
    """Pad rows and columns with zeros: ``padding`` is an int, (rows, cols) or
    ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _padding_pairs(padding)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = {"ndim": 4}

    def call(self, inputs):
        rows, cols = self.padding
        if self.data_format == "channels_last":
            return gf.pad(inputs, ((0, 0), rows, cols, (0, 0)))
        return gf.pad(inputs, ((0, 0), (0, 0), rows, cols))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}
