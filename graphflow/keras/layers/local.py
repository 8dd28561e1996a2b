"""Locally connected layers, as Keras 2.0.6's ``keras.layers.local``: convolutions whose
weights are not shared — every output position has its own kernel. Only
``padding='valid'`` (as 2.0.6), and the input's spatial dims must be known.

* ``LocallyConnected1D``: kernel ``(out_steps, kernel_size * in, filters)``, bias
  ``(out_steps, filters)``.
* ``LocallyConnected2D``: kernel ``(rows * cols, kh * kw * in, filters)`` (windows
  flattened ``(kh, kw, in)``; channels_first ``(in, kh, kw)``), bias ``(rows, cols,
  filters)``; with channels_first the bias is read as 2.0.6's backend reads it: its
  memory reshaped to ``(filters, rows, cols)``, so 2.0.6 weight files mean the same.

    >>> model.add(LocallyConnected2D(16, (3, 3), input_shape=(12, 12, 3)))   # -> (None, 10, 10, 16)
"""
import graphflow as gf

from .. import activations
from .. import backend as K
from .._utils import normalize_data_format, normalize_padding, normalize_tuple
from ..engine.base_layer import Layer
from ._options import KERNEL_AND_BIAS, options_config, set_options


class _LocallyConnected(Layer):
    """Arguments, weights and the config the two layers share."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        self.padding = normalize_padding(padding)
        if self.padding != "valid":
            raise ValueError(f"Invalid border mode for {type(self).__name__} (only \"valid\" is supported): "
                             f"{padding!r}")
        self.data_format = normalize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        set_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                    kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                    activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                    bias_constraint=bias_constraint)
        self.input_spec = {"ndim": self.rank + 2}

    def _out(self, n, axis):
        if n is None:
            raise ValueError(f"layer {self.name}: the spatial dims of a {type(self).__name__} input must be known, "
                             f"axis {axis} is None")
        k, s = self.kernel_size[axis], self.strides[axis]
        if n < k:
            raise ValueError(f"layer {self.name}: input length {n} is shorter than the kernel {k}")
        return (n - k) // s + 1

    def _weights(self, positions, feature, bias_shape):
        self.kernel = self.add_weight("kernel", (positions, feature, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", bias_shape, initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        self.built = True

    def get_config(self):
        config = {"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                  "padding": self.padding, "data_format": self.data_format,
                  "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                  **options_config(self, KERNEL_AND_BIAS)}
        return {**super().get_config(), **config}


class LocallyConnected1D(_LocallyConnected):
    """``(batch, steps, in)`` -> ``(batch, out_steps, filters)`` with one kernel per output
    step. ``data_format`` is accepted and ignored, and left out of the config, as 2.0.6 did."""

    def get_config(self):
        config = super().get_config()
        config.pop("data_format")
        return config

    def build(self, input_shape):
        channels = input_shape[2]
        if channels is None:
            raise ValueError(f"layer {self.name}: axis 2 of the input should be fully defined, got {input_shape}")
        length = self._out(input_shape[1], 0)
        self.input_spec = {"ndim": 3, "axes": {2: channels}}
        self._weights(length, self.kernel_size[0] * channels, (length, self.filters))

    def call(self, inputs):
        out = K.local_conv1d(inputs, self.kernel, self.kernel_size, self.strides)
        if self.use_bias:
            out = out + self.bias
        return self.activation(out)


class LocallyConnected2D(_LocallyConnected):
    """``(batch, rows, cols, in)`` -> ``(batch, out_rows, out_cols, filters)`` (either data
    format) with one kernel per output pixel."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, **kwargs)

    def build(self, input_shape):
        last = self.data_format == "channels_last"
        rows, cols = input_shape[1:3] if last else input_shape[2:4]
        channels = input_shape[3 if last else 1]
        if channels is None:
            raise ValueError(f"layer {self.name}: the channel axis of the input should be defined, got {input_shape}")
        self.output_row, self.output_col = self._out(rows, 0), self._out(cols, 1)
        self.input_spec = {"ndim": 4, "axes": {3 if last else 1: channels}}
        self._weights(self.output_row * self.output_col, self.kernel_size[0] * self.kernel_size[1] * channels,
                      (self.output_row, self.output_col, self.filters))

    def call(self, inputs):
        out = K.local_conv2d(inputs, self.kernel, self.kernel_size, self.strides, (self.output_row, self.output_col),
                             self.data_format)
        if self.use_bias:
            bias = self.bias if self.data_format == "channels_last" else \
                gf.reshape(self.bias, (self.filters, self.output_row, self.output_col))  # 2.0.6's reading
            out = out + bias
        return self.activation(out)

