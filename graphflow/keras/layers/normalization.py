"""BatchNormalization with Keras 2.0.6 semantics.

Training: normalise with the batch mean and (biased) variance over every axis but
``axis``; the gradient flows through both. The train function also updates
``moving_mean``/``moving_variance`` as ``m <- momentum * m + (1 - momentum) * batch_stat``.
Test and predict: normalise with the moving statistics.
``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    >>> model.add(BatchNormalization())          # after a channels_last Conv2D / Dense
"""
import graphflow as gf

from ..engine.base_layer import Layer
from ._options import options_config, set_options

_WEIGHT_ARGS = ("beta_initializer", "gamma_initializer", "moving_mean_initializer",
                "moving_variance_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint",
                "gamma_constraint")


class BatchNormalization(Layer):
    """Normalise the activations of the previous layer per feature along ``axis``."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        args = locals()
        set_options(self, **{name: args[name] for name in _WEIGHT_ARGS})

    def build(self, input_shape):
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension but the layer "
                             f"received an input with shape {input_shape}.")
        self.input_spec = {"ndim": len(input_shape), "axes": {self.axis: dim}}
        shape = (dim,)
        self.gamma = self.add_weight("gamma", shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) \
            if self.scale else None
        self.beta = self.add_weight("beta", shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint) \
            if self.center else None
        self.moving_mean = self.add_weight("moving_mean", shape, initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               initializer=self.moving_variance_initializer, trainable=False)
        self.built = True

    def _normalize(self, inputs, mean, variance, broadcast):
        y = (inputs - broadcast(mean)) / gf.sqrt(broadcast(variance) + self.epsilon)
        if self.scale:
            y = y * broadcast(self.gamma)
        if self.center:
            y = y + broadcast(self.beta)
        return y

    def call(self, inputs, training=False):
        ndim = inputs.ndim
        axis = self.axis % ndim
        reduction_axes = tuple(i for i in range(ndim) if i != axis)
        shape = tuple(inputs.shape[axis] if i == axis else 1 for i in range(ndim))

        def broadcast(v):
            return v if axis == ndim - 1 else gf.reshape(v, shape)

        if not training:
            return self._normalize(inputs, self.moving_mean, self.moving_variance, broadcast)
        mean = gf.mean(inputs, reduction_axes)
        variance = gf.mean(gf.square(inputs - gf.mean(inputs, reduction_axes, keepdims=True)), reduction_axes)
        m = self.momentum
        self.add_update([(self.moving_mean, self.moving_mean * m + mean * (1.0 - m)),
                         (self.moving_variance, self.moving_variance * m + variance * (1.0 - m))])
        return self._normalize(inputs, mean, variance, broadcast)

    def get_config(self):
        config = {"axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon, "center": self.center,
                  "scale": self.scale}
        config.update(options_config(self, _WEIGHT_ARGS))
        return {**super().get_config(), **config}
