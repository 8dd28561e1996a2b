"""Activations with parameters, as Keras 2's ``keras.layers.advanced_activations``:
LeakyReLU, PReLU (a learned slope per unit), ELU and ThresholdedReLU.

    >>> model.add(Conv2D(32, (3, 3))); model.add(LeakyReLU(alpha=0.1))
"""
import graphflow as gf

from ..engine.base_layer import Layer
from ._options import options_config, set_options


class LeakyReLU(Layer):
    """``x`` for x > 0, ``alpha * x`` otherwise (default alpha 0.3, as Keras 2)."""

    def __init__(self, alpha=0.3, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha = float(alpha)

    def call(self, inputs):
        return gf.nn.leaky_relu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """``x`` for x > 0, ``alpha * x`` otherwise, with ``alpha`` a weight of the input's
    shape (batch axis excluded); ``shared_axes`` (1-based) share it along those axes, e.g.
    ``shared_axes=[1, 2]`` for one slope per channel of a channels_last image."""

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        set_options(self, alpha_initializer=alpha_initializer, alpha_regularizer=alpha_regularizer,
                    alpha_constraint=alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            self.shared_axes = [int(a) for a in (shared_axes if isinstance(shared_axes, (list, tuple))
                                                 else [shared_axes])]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            shape[axis - 1] = 1
        if None in shape:
            raise ValueError(f"layer {self.name}: PReLU needs every non-batch dimension known or shared, got "
                             f"input shape {tuple(input_shape)} and shared_axes={self.shared_axes}")
        self.alpha = self.add_weight("alpha", tuple(shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.input_spec = {"ndim": len(input_shape),
                           "axes": {i: d for i, d in enumerate(input_shape) if i and d is not None
                                    and i not in (self.shared_axes or [])}}
        self.built = True

    def call(self, inputs):
        return gf.relu(inputs) - self.alpha * gf.relu(-inputs)

    def get_config(self):
        return {**super().get_config(), "shared_axes": self.shared_axes,
                **options_config(self, ("alpha_initializer", "alpha_regularizer", "alpha_constraint"))}


class ELU(Layer):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha = float(alpha)

    def call(self, inputs):
        return gf.nn.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ThresholdedReLU(Layer):
    """``x`` for x > theta, 0 otherwise."""

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.theta = float(theta)

    def call(self, inputs):
        return gf.where(gf.greater(inputs, self.theta), inputs, 0.0)

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}
