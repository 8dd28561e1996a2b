"""Layer wrappers, as Keras 2.0.6's ``keras.layers.wrappers``: ``TimeDistributed``.

``TimeDistributed(layer)`` applies ``layer`` to every time step of ``(batch, steps, ...)``
with the same weights. As Keras 2.0.6 does when it can, the steps are folded into the
batch — ``(batch * steps, ...)`` through the layer, then unfolded — one call of the
layer, not one per step. The steps may be unknown (``None``); the dims after them must
be known.

    >>> model.add(TimeDistributed(Dense(8), input_shape=(10, 16)))     # -> (None, 10, 8)
    >>> TimeDistributed(Conv2D(4, 3))(Input((5, 12, 12, 3)))          # -> (None, 5, 10, 10, 4)
"""
import numpy as np

import graphflow as gf

from ..engine.base_layer import Layer


class Wrapper(Layer):
    """A layer that holds another (``self.layer``): its weights, losses and constraints are
    the inner layer's, and its config nests the inner layer's ``{class_name, config}``."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"{type(self).__name__} wraps a layer instance, got {layer!r}")
        self.layer = layer
        super().__init__(**kwargs)
        self.constraints = layer.constraints  # the optimizer reads them from the wrapper

    @property
    def trainable_weights(self):
        return self.layer.trainable_weights if self.trainable else []

    @trainable_weights.setter
    def trainable_weights(self, value):
        if value:
            raise AttributeError(f"{type(self).__name__} holds no weights of its own")

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return self.layer.non_trainable_weights
        return self.layer.trainable_weights + self.layer.non_trainable_weights

    @non_trainable_weights.setter
    def non_trainable_weights(self, value):
        if value:
            raise AttributeError(f"{type(self).__name__} holds no weights of its own")

    @property
    def losses(self):
        return self.layer.get_losses_for(None) + super().losses

    def get_losses_for(self, inputs):
        own = super().get_losses_for(inputs)
        return self.layer.get_losses_for(None) + own if inputs is None else own

    def get_config(self):
        layer = {"class_name": type(self.layer).__name__, "config": self.layer.get_config()}
        return {**super().get_config(), "layer": layer}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize  # the registry sits above this module
        config = dict(config)
        return cls(deserialize(config.pop("layer"), custom_objects), **config)


class TimeDistributed(Wrapper):
    """Apply ``layer`` to each step of the input (axis 1) with shared weights."""

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.input_spec = {"min_ndim": 3}

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"layer {self.name}: TimeDistributed needs an input of at least 3 dims "
                             f"(batch, steps, ...), got {tuple(input_shape)}")
        inner = (input_shape[0],) + tuple(input_shape[2:])
        if not self.layer.built:
            self.layer.build(inner)
            self.layer.built = True
        self.built = True

    def call(self, inputs, training=False, mask=None):
        """``mask`` is accepted and not used, as in Keras 2.0.6 (Keras 3 files pass it)."""
        rest = tuple(inputs.shape[2:])
        if None in rest:
            raise ValueError(f"layer {self.name}: the dims after the steps must be known to fold the steps into "
                             f"the batch, got input shape {tuple(inputs.shape)}")
        folded = gf.reshape(inputs, (-1,) + rest)
        out = self.layer._call_graph(folded, training=training)
        out_rest = tuple(out.shape[1:])
        steps = inputs.shape[1]
        if steps is not None:
            return gf.reshape(out, (-1, steps) + out_rest)
        # unknown steps: unfold to the run-time (batch, steps) of the input, read from a
        # slice of it (its values are never used)
        like = gf.zeros_like(inputs[(slice(None), slice(None)) + (0,) * len(rest)], out.dtype)
        for _ in out_rest:
            like = gf.expand_dims(like, -1)
        return gf.reshape_like(out, like + gf.constant(np.zeros(out_rest, out.dtype)))
