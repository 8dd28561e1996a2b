"""Convolution layers, as Keras 2's ``keras.layers.convolutional``: Conv1D, Conv2D, Conv3D,
Conv2DTranspose (``Deconvolution2D``), Conv3DTranspose (``Deconvolution3D``) and
SeparableConv2D. Kernels are
``(kernel_rows, kernel_cols, in, filters)`` in both data formats (Conv1D:
``(kernel_size, in, filters)``; Conv3D: ``(depth, rows, cols, in, filters)``;
Conv2DTranspose: ``(rows, cols, filters, in)``; Conv3DTranspose: ``(depth, rows, cols,
filters, in)``), 'same' padding is TensorFlow's. As in Keras 2.0.6 this module also offers the pooling,
padding, cropping and upsampling layers.

    >>> model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(100, 100, 3)))
"""
import numpy as np

import graphflow as gf

from .. import activations
from .._utils import normalize_data_format, normalize_padding, normalize_tuple
from ..engine.base_layer import Layer
from ..engine.build_budget import charge
from ._options import KERNEL_AND_BIAS, options_config, set_options
from .pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D,  # noqa: F401
                      AvgPool3D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D,
                      MaxPooling1D, MaxPooling2D, MaxPooling3D)
from .resizing import (Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D, UpSampling3D,  # noqa: F401
                       ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)


class _Conv(Layer):
    """What the convolution layers share: arguments, weights, bias and activation."""

    rank = 2
    _paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        self.padding = normalize_padding(padding, self._paddings)
        self.data_format = self._data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        set_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                    kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                    activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                    bias_constraint=bias_constraint)
        self.input_spec = {"ndim": self.rank + 2}

    def _data_format(self, value):
        return normalize_data_format(value)

    @property
    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def _input_channels(self, input_shape):
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"layer {self.name}: the channel dimension of the inputs should be defined. Found "
                             f"`None` (input shape {tuple(input_shape)}, data_format={self.data_format!r}).")
        self.input_spec = {"ndim": self.rank + 2, "axes": {self._channel_axis: channels}}
        return channels

    def _kernel_shape(self, channels):
        return self.kernel_size + (channels, self.filters)

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", self._kernel_shape(self._input_channels(input_shape)),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._build_bias()
        self.built = True

    def _build_bias(self):
        self.bias = self.add_weight("bias", (self.filters,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None

    def call(self, inputs):
        out = self._convolve(inputs)
        if self.use_bias:
            out = gf.nn.bias_add(out, self.bias, self.data_format)
        return self.activation(out)

    def _convolve(self, inputs):
        return gf.nn.conv2d(inputs, self.kernel, self.strides, self.padding, self.data_format, self.dilation_rate)

    def get_config(self):
        config = {"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                  "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                  "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                  **options_config(self, KERNEL_AND_BIAS)}
        return {**super().get_config(), **config}


class Conv1D(_Conv):
    """Temporal convolution over ``(batch, steps, channels)``; ``padding='causal'`` pads
    only the start, so output t sees inputs up to t (WaveNet). ``data_format`` defaults
    to 'channels_last' whatever the image format is (Keras 2.0.6 had no such argument)."""

    rank = 1
    _paddings = ("valid", "same", "causal")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, data_format="channels_last",
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, **kwargs)

    def _data_format(self, value):
        return normalize_data_format(value or "channels_last")

    def _convolve(self, inputs):
        axis = 1 if self.data_format == "channels_last" else 2  # the dummy row axis
        padding = self.padding
        if padding == "causal":
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            time_axis = 1 if self.data_format == "channels_last" else 2
            pads = [(0, 0)] * 3
            pads[time_axis] = (left, 0)
            inputs, padding = gf.pad(inputs, tuple(pads)), "valid"
        out = gf.nn.conv2d(gf.expand_dims(inputs, axis), gf.expand_dims(self.kernel, 0), (1,) + self.strides,
                           padding, self.data_format, (1,) + self.dilation_rate)
        return gf.squeeze(out, axis)


class Conv2D(_Conv):
    """``activation(conv2d(x, kernel) + bias)`` with ``filters`` output channels."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, **kwargs)


class Conv3D(_Conv):
    """``activation(conv3d(x, kernel) + bias)`` over ``(batch, depth, rows, cols, channels)``
    (channels_first: ``(batch, channels, depth, rows, cols)``); kernel
    ``(kd, kh, kw, in, filters)``. Depth, rows and cols must be known (see ``gf.nn.conv3d``)."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, **kwargs)

    def _convolve(self, inputs):
        return gf.nn.conv3d(inputs, self.kernel, self.strides, self.padding, self.data_format, self.dilation_rate)


class Conv2DTranspose(Conv2D):
    """Transposed convolution ("deconvolution"): the output is what a Conv2D with these
    strides and padding would map onto the input's shape; 'valid' rows
    ``n * s + max(k - s, 0)``, 'same' ``n * s``. Kernel ``(rows, cols, filters, in)``."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, **kwargs):
        if tuple(normalize_tuple(kwargs.pop("dilation_rate", 1), 2, "dilation_rate")) != (1, 1):
            raise ValueError("Conv2DTranspose supports dilation_rate=(1, 1) only (as Keras 2.0.6)")
        super().__init__(filters, kernel_size, strides, padding, data_format, **kwargs)

    def _kernel_shape(self, channels):
        return self.kernel_size + (self.filters, channels)

    def _convolve(self, inputs):
        return gf.nn.conv2d_transpose(inputs, self.kernel, self.strides, self.padding, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.pop("dilation_rate")
        return config


class Conv3DTranspose(Conv3D):
    """Transposed 3-D convolution: the output is what a Conv3D with these strides and
    padding would map onto the input's shape ('valid' ``n * s + max(k - s, 0)``, 'same'
    ``n * s`` per axis). Kernel ``(kd, kh, kw, filters, in)``; no dilation (as 2.0.6)."""

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None, **kwargs):
        if tuple(normalize_tuple(kwargs.pop("dilation_rate", 1), 3, "dilation_rate")) != (1, 1, 1):
            raise ValueError("Conv3DTranspose supports dilation_rate=(1, 1, 1) only (as Keras 2.0.6)")
        super().__init__(filters, kernel_size, strides, padding, data_format, **kwargs)

    def _kernel_shape(self, channels):
        return self.kernel_size + (self.filters, channels)

    def _convolve(self, inputs):
        return gf.nn.conv3d_transpose(inputs, self.kernel, self.strides, self.padding, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.pop("dilation_rate")
        return config


class SeparableConv2D(Conv2D):
    """A depthwise convolution (each input channel with its own ``depth_multiplier``
    filters, ``depthwise_kernel`` ``(rows, cols, in, depth_multiplier)``) followed by a
    1x1 pointwise one (``pointwise_kernel`` ``(1, 1, in * depth_multiplier, filters)``).
    The depthwise step runs as one conv2d with a block-diagonal kernel built from the
    depthwise one (exact, differentiable; it costs ``in`` times the multiply-adds of a
    dedicated depthwise kernel)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, depth_multiplier=1,
                 activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, activation=activation,
                         use_bias=use_bias, bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)
        set_options(self, depthwise_initializer=depthwise_initializer, pointwise_initializer=pointwise_initializer,
                    depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                    depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1, 1, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self._build_bias()
        self.built = True

    def _convolve(self, inputs):
        kh, kw, channels, mult = self.depthwise_kernel.shape
        # block-diagonal: full[a, b, c, c * mult + m] = depthwise[a, b, c, m], zero across channels
        charge(self, "a block-diagonal mask", (channels, channels), weight=False)
        mask = np.eye(channels, dtype=self.depthwise_kernel.dtype).reshape(1, 1, channels, channels, 1)
        full = gf.reshape(gf.expand_dims(self.depthwise_kernel, 3) * mask, (kh, kw, channels, channels * mult))
        depthwise = gf.nn.conv2d(inputs, full, self.strides, self.padding, self.data_format, self.dilation_rate)
        return gf.nn.conv2d(depthwise, self.pointwise_kernel, 1, "valid", self.data_format)

    def get_config(self):
        config = super().get_config()
        for name in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            config.pop(name)
        config["depth_multiplier"] = self.depth_multiplier
        config.update(options_config(self, ("depthwise_initializer", "pointwise_initializer",
                                            "depthwise_regularizer", "pointwise_regularizer",
                                            "depthwise_constraint", "pointwise_constraint")))
        return config


Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
Deconvolution2D = Deconv2D = Convolution2DTranspose = Conv2DTranspose
Deconvolution3D = Deconv3D = Conv3DTranspose
SeparableConvolution2D = SeparableConv2D
