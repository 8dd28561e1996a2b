"""Layer wrappers, as Keras 2.0.6's ``keras.layers.wrappers``: ``Bidirectional``.

    >>> model.add(Bidirectional(LSTM(10, return_sequences=True), input_shape=(5, 10)))
    >>> model.add(Bidirectional(LSTM(10), merge_mode="sum"))
"""
import graphflow as gf

from ..engine.base_layer import Layer, scope_name

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


class Wrapper(Layer):
    """Base of the layers that wrap another layer (``self.layer``); its config holds the
    wrapped layer's ``{class_name, config}``."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"{type(self).__name__} wraps a layer; got {type(layer).__name__}")
        self.layer = layer
        super().__init__(**kwargs)

    def get_config(self):
        from . import serialize
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        config = dict(config)
        layer = deserialize(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)


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
