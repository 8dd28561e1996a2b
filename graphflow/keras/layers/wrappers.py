"""Layer wrappers, as Keras 2.0.6's ``keras.layers.wrappers``: ``TimeDistributed`` and
``Bidirectional``.

``TimeDistributed(layer)`` applies ``layer`` to every time step of ``(batch, steps, ...)``
with the same weights. As Keras 2.0.6 does when it can, the steps are folded into the
batch — ``(batch * steps, ...)`` through the layer, then unfolded — one call of the
layer, not one per step. The steps may be unknown (``None``); the dims after them must
be known.

    >>> model.add(TimeDistributed(Dense(8), input_shape=(10, 16)))     # -> (None, 10, 8)
    >>> TimeDistributed(Conv2D(4, 3))(Input((5, 12, 12, 3)))          # -> (None, 5, 10, 10, 4)

``Bidirectional(layer, merge_mode='concat')`` runs a recurrent layer forwards and a copy of
it backwards and merges the two:

    >>> model.add(Bidirectional(LSTM(10, return_sequences=True), input_shape=(5, 10)))
    >>> model.add(Bidirectional(LSTM(10), merge_mode="sum"))
"""
import numpy as np

import graphflow as gf

from ..engine.base_layer import Layer, scope_name

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


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
        self.supports_masking = True  # a mask passes through, as in Keras 2.0.6

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


class Bidirectional(Wrapper):
    """Runs a recurrent layer forwards and a copy of it backwards over the sequence and
    merges the two outputs: ``merge_mode`` 'concat' (default, on the last axis), 'sum',
    'mul', 'ave', or ``None`` for the list ``[forward, backward]``. With
    ``return_sequences`` the backward outputs are put back in time order first. Weights:
    the forward layer's, then the backward layer's."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f'Invalid merge mode {merge_mode!r}. Merge mode should be one of '
                             f'{{"sum", "mul", "ave", "concat", None}}')
        super().__init__(layer, **kwargs)
        config = layer.get_config()
        self.forward_layer = type(layer).from_config({**config, "name": "forward_" + layer.name})
        if isinstance(backward_layer, dict):  # a config (later Keras write the backward half's own)
            from . import deserialize
            backward_layer = deserialize(backward_layer)
        if backward_layer is not None and not backward_layer.go_backwards:
            raise ValueError(f"Bidirectional {self.name}: backward_layer must have go_backwards=True")
        self.backward_layer = backward_layer or type(layer).from_config(
            {**config, "name": "backward_" + layer.name, "go_backwards": not config.get("go_backwards", False)})
        for half in (self.forward_layer, self.backward_layer):
            half.__dict__.pop("batch_input_shape", None)  # the wrapper owns the input shape
        self.merge_mode = merge_mode
        self._initial_weights = weights
        self.stateful = getattr(layer, "stateful", False)
        self.return_sequences = getattr(layer, "return_sequences", False)
        self.supports_masking = True

    def build(self, input_shape):
        for half in (self.forward_layer, self.backward_layer):
            half.build(input_shape)
            half.built = True
        self.built = True

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self.forward_layer.trainable_weights + self.backward_layer.trainable_weights

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.forward_layer.weights + self.backward_layer.weights
        return self.forward_layer.non_trainable_weights + self.backward_layer.non_trainable_weights

    @property
    def losses(self):
        return self.forward_layer.losses + self.backward_layer.losses + super().losses

    def get_losses_for(self, inputs):
        own = super().get_losses_for(inputs)
        if inputs is None:
            return own + self.forward_layer.get_losses_for(None) + self.backward_layer.get_losses_for(None)
        return own

    @property
    def constraints(self):
        return {**self.forward_layer.constraints, **self.backward_layer.constraints}

    @constraints.setter
    def constraints(self, value):
        pass  # the halves own theirs

    @property
    def states(self):
        if not self.stateful:
            return None
        return list(self.forward_layer.states or []) + list(self.backward_layer.states or [])

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def keras3_weight_groups(self):
        return [(f"{attr}/{sub}", variables) for attr in ("forward_layer", "backward_layer")
                for sub, variables in getattr(self, attr).keras3_weight_groups()]

    def keras3_weight_paths(self):
        """Keras 3's paths: 'bidirectional_1/forward_lstm_1/lstm_cell/kernel'..."""
        return [p for half in (self.forward_layer, self.backward_layer)
                for p in half.keras3_weight_paths(f"{self.name}/{half.name}")]

    def set_weights(self, weights):
        n = len(weights) // 2
        self.forward_layer.set_weights(weights[:n])
        self.backward_layer.set_weights(weights[n:])

    def call(self, inputs, mask=None, training=False):
        outputs = []
        for half in (self.forward_layer, self.backward_layer):
            with gf.name_scope(scope_name(half.name)):
                outputs.append(half.call(inputs, mask=mask, training=training))
        y, y_rev = outputs
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        if self.merge_mode == "concat":
            return gf.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return [y, y_rev]

    def compute_mask(self, inputs, mask=None):
        if not self.return_sequences:
            return None
        return [mask, mask] if self.merge_mode is None else mask

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode}
