"""Masking: marks the time steps to skip in the layers downstream (Keras 2.0.6's
``keras.layers.Masking``; ``Embedding(mask_zero=True)`` is the other source of masks).

    >>> model.add(Masking(mask_value=0., input_shape=(timesteps, features)))
    >>> model.add(LSTM(32))          # steps whose features all equal 0 are skipped

A mask is a bool tensor (samples, timesteps) that travels beside a layer's output: a
recurrent layer repeats its previous output and state at a masked step, layers that
support masking pass it on, and a layer that does not refuses it (``TypeError``).
"""
import graphflow as gf

from ..engine.base_layer import Layer


class Masking(Layer):
    """A step is masked when all its features equal ``mask_value``; its features are
    zeroed in the output."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.mask_value = mask_value

    def _keep(self, inputs):
        return gf.max(gf.cast(gf.not_equal(inputs, self.mask_value), "int32"), axis=-1)

    def compute_mask(self, inputs, mask=None):
        return gf.cast(self._keep(inputs), "bool")

    def call(self, inputs):
        return inputs * gf.expand_dims(gf.cast(self._keep(inputs), inputs.dtype), -1)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
