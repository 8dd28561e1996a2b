"""Convolutional recurrent layers, as Keras 2.0.6's ``keras.layers.convolutional_recurrent``:
``ConvLSTM2D``, an LSTM whose input and recurrent transformations are convolutions.

    >>> model.add(ConvLSTM2D(16, (3, 3), padding="same", return_sequences=True,
    ...                      input_shape=(None, 40, 40, 1)))   # (batch, time, rows, cols, channels)

Kernel (rows, cols, in_channels, 4*filters) and recurrent kernel (rows, cols, filters,
4*filters), gates i, f, c, o as LSTM; the recurrent convolution is always 'same' padded
with stride 1, so the state keeps the shape of the input convolution's output.
"""
import math

import graphflow as gf

from .._utils import normalize_data_format
from ..engine.node import InputSpec
from .recurrent import LSTM


def _tuple(value, name):
    value = (value, value) if isinstance(value, int) else tuple(value)
    if len(value) != 2:
        raise ValueError(f"ConvLSTM2D: {name} must be an int or a pair, got {value!r}")
    return tuple(int(v) for v in value)


def _out_length(n, k, padding, stride, dilation):
    if n is None:
        return None
    if padding == "same":
        return math.ceil(n / stride)
    return math.ceil((n - (k - 1) * dilation) / stride)


class ConvLSTM2D(LSTM):
    """Convolutional LSTM (Shi et al. 2015). Input (samples, time, rows, cols, channels)
    with channels_last, (samples, time, channels, rows, cols) with channels_first; output
    the same with ``filters`` channels (no time axis unless ``return_sequences``)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), **kwargs):
        if kwargs.get("unroll"):
            raise ValueError("ConvLSTM2D cannot be unrolled (as in Keras 2.0.6)")
        super().__init__(filters, **kwargs)
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, "kernel_size")
        self.strides = _tuple(strides, "strides")
        self.dilation_rate = _tuple(dilation_rate, "dilation_rate")
        if padding not in ("valid", "same"):
            raise ValueError(f"ConvLSTM2D: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding
        self.data_format = normalize_data_format(data_format)
        self.input_spec = [InputSpec(ndim=5)]

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        channels = input_shape[2] if self.data_format == "channels_first" else input_shape[-1]
        if channels is None:
            raise ValueError(f"layer {self.name}: the channel axis of the input must be known, got {input_shape}")
        rows, cols = (input_shape[3:5] if self.data_format == "channels_first" else input_shape[2:4])
        self._out_rows_cols = [_out_length(n, k, self.padding, s, d) for n, k, s, d in
                               zip((rows, cols), self.kernel_size, self.strides, self.dilation_rate)]
        self.input_spec = [InputSpec(ndim=5)]
        if self.stateful:
            if input_shape[0] is None or None in self._out_rows_cols:
                raise ValueError(f"layer {self.name}: a stateful ConvLSTM2D needs the batch size and the image "
                                 f"size, got input shape {input_shape}")
            self._batch_size = int(input_shape[0])
            self.reset_states()
        self.build_weights(int(channels))
        self.built = True

    def build_weights(self, channels):
        kh, kw = self.kernel_size
        g = 4 * self.filters
        self.kernel = self.add_weight("kernel", (kh, kw, channels, g), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (kh, kw, self.filters, g),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight("bias", (g,), initializer=self._bias_initializer(),
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None

    def _state_shape(self):
        return (self._batch_size, *self._out_rows_cols, self.filters)

    def _conv(self, x, kernel, padding="same", strides=(1, 1), dilation=(1, 1)):
        return gf.nn.conv2d(x, kernel, strides, padding, "channels_last", dilation)

    def _project(self, x, masks):
        """The input convolution (x channels_last), each gate's slice with its own mask."""
        if x.ndim == 5:  # the whole sequence: one convolution over (samples*time) images
            steps, shape = x.shape[1], x.shape[2:]
            if masks is not None:
                masks = [gf.reshape(gf.tile(gf.expand_dims(m, 1), (1, steps, 1, 1, 1)), (-1,) + shape)
                         for m in masks]
            flat = self._project(gf.reshape(x, (-1,) + shape), masks)
            return gf.reshape(flat, (-1, steps) + tuple(flat.shape[1:]))
        conv = lambda t, k: self._conv(t, k, self.padding, self.strides, self.dilation_rate)  # noqa: E731
        if masks is None or len(masks) == 1:
            z = conv(x if masks is None else x * masks[0], self.kernel)
        else:
            kernels = gf.split(self.kernel, len(masks), axis=-1)
            z = gf.concatenate([conv(x * m, k) for m, k in zip(masks, kernels)], axis=-1)
        return z if self.bias is None else z + self.bias

    def _recurrent(self, h, masks, kernel=None):
        if masks is None or len(masks) == 1:
            return self._conv(h if masks is None else h * masks[0], self.recurrent_kernel)
        kernels = gf.split(self.recurrent_kernel, len(masks), axis=-1)
        return gf.concatenate([self._conv(h * m, k) for m, k in zip(masks, kernels)], axis=-1)

    def get_initial_state(self, inputs):
        first = self._project(inputs[:, 0], None)
        zero = gf.zeros_like(gf.split(first, 4, axis=-1)[0])
        return [zero, zero]

    def call(self, inputs, mask=None, training=False):
        if self.data_format == "channels_first":
            inputs = gf.transpose(inputs, (0, 1, 3, 4, 2))
        output = super().call(inputs, mask=mask, training=training)
        if self.data_format == "channels_first":
            perm = (0, 1, 4, 2, 3) if self.return_sequences else (0, 3, 1, 2)
            output = gf.transpose(output, perm)
        return output

    def keras3_weight_paths(self, prefix=None):
        names = ("kernel", "recurrent_kernel", "bias")[:len(self.weights)]
        return [f"{prefix or self.name}/conv_lstm_cell/{n}" for n in names]

    def get_config(self):
        config = super().get_config()
        for key in ("units", "unroll", "implementation"):  # not ConvLSTM2D options in Keras 2.0.6
            config.pop(key)
        if not config["return_state"]:
            config.pop("return_state")
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      padding=self.padding, data_format=self.data_format, dilation_rate=self.dilation_rate)
        return config
