"""``Recurrent``: what Keras 2.0.6's SimpleRNN, GRU and LSTM share — the loop (``K.rnn``),
initial and stateful states, masks, dropout masks and the input projection.

A subclass sets ``n_gates`` (1, 3 or 4) and ``n_states`` (1 or 2), builds ``kernel``
(input_dim, n_gates*units), ``recurrent_kernel`` (units, n_gates*units) and ``bias``,
and writes ``cell(x_t, states, rec_masks)`` on a projected input.

``implementation`` (Keras 2.0.6): 0 projects the inputs of every time step with one big
matrix product before the loop ("fewer, larger products"); 1 and 2 project inside the
step. All three compute the same function; they differ in speed and in how dropout
masks are shared (0 and 1: one mask per gate; 2: one for all gates).
"""
import numpy as np

import graphflow as gf

from .. import backend as K
from .._utils import to_snake_case
from ..engine.base_layer import Layer, to_list
from ..engine.node import InputSpec, KerasTensor

_STATEFUL_NEEDS_BATCH = (
    "If a RNN is stateful, it needs to know its batch size. Specify the batch size of your input tensors: "
    "a Sequential model's first layer takes batch_input_shape=(batch, timesteps, features); with the "
    "functional API pass batch_shape=(batch, timesteps, features) to Input().")


class Recurrent(Layer):
    """Abstract base of the recurrent layers (Keras 2.0.6 ``keras.layers.recurrent.Recurrent``)."""

    n_gates = 1
    n_states = 1

    def __init__(self, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, implementation=0, zero_output_for_mask=False, **kwargs):
        input_dim, input_length = kwargs.pop("input_dim", None), kwargs.pop("input_length", None)
        if input_dim is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length, input_dim)
        super().__init__(**kwargs)
        if implementation not in (0, 1, 2):
            raise ValueError(f"layer {self.name}: implementation must be 0, 1 or 2, got {implementation!r}")
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), bool(unroll)
        self.implementation = int(implementation)
        self.zero_output_for_mask = bool(zero_output_for_mask)  # later Keras: masked steps output 0
        self.input_dim, self.input_length = input_dim, input_length
        self.supports_masking = True
        self.input_spec = [InputSpec(ndim=3)]
        self.states = None

    # ------------------------------------------------------------ calling with initial states
    def __call__(self, inputs, initial_state=None, **kwargs):
        """``layer(x, initial_state=[h0, c0])``: Keras tensors become inputs of the call
        (so the model feeds them); graphflow tensors (``K.variable``) stay fixed arguments."""
        if initial_state is not None:
            states = to_list(initial_state)
            if len(states) != self.n_states:
                raise ValueError(f"Layer {self.name} expects {self.n_states} initial state(s), got {len(states)}")
            symbolic = [isinstance(s, KerasTensor) for s in states]
            if all(symbolic):
                inputs = [inputs] + states
            elif not any(symbolic):
                kwargs["initial_state"] = states
            else:
                raise ValueError(f"Layer {self.name}: the initial states must be all Keras tensors or all "
                                 f"graphflow tensors, not a mix")
        return super().__call__(inputs, **kwargs)

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        if input_shape[-1] is None:
            raise ValueError(f"layer {self.name}: the feature axis of the input must be known, got {input_shape}")
        self.input_dim = int(input_shape[-1])
        self.input_spec = [InputSpec(ndim=3, axes={-1: self.input_dim})]
        if self.stateful:
            if input_shape[0] is None:
                raise ValueError(f"layer {self.name}: {_STATEFUL_NEEDS_BATCH} Got input shape {input_shape}.")
            self._batch_size = int(input_shape[0])
            self.reset_states()
        self.build_weights(self.input_dim)
        self.built = True

    def build_weights(self, input_dim):
        raise NotImplementedError

    # ------------------------------------------------------------ states
    def _state_shape(self):
        return (self._batch_size, self.units)

    def reset_states(self, states=None):
        """Zero the states of a stateful layer, or set them to ``states`` (arrays)."""
        if not self.stateful:
            raise AttributeError(f"Layer {self.name} must be stateful to reset its states")
        shape = self._state_shape()
        values = [np.zeros(shape, K.floatx())] * self.n_states if states is None else \
            [np.asarray(s, K.floatx()) for s in to_list(states)]
        if len(values) != self.n_states or any(v.shape != shape for v in values):
            raise ValueError(f"Layer {self.name} expects {self.n_states} state(s) of shape {shape}, got "
                             f"{[v.shape for v in values]}")
        if self.states is None:
            with gf.name_scope(self.name):
                self.states = [gf.variable(v, name=f"state_{i}", trainable=False) for i, v in enumerate(values)]
        else:
            for var, v in zip(self.states, values):
                var.set_value(v)

    def get_initial_state(self, inputs):
        """Zeros of shape (samples, units), one per state, sized by the batch at run time."""
        zero = gf.tile(gf.zeros_like(inputs[:, 0, 0:1]), (1, self.units))
        return [zero] * self.n_states

    # ------------------------------------------------------------ dropout masks (shared over time)
    def _dropout_masks(self, like, rate, count, training):
        """``count`` masks of ``like``'s shape (samples, n), drawn once per batch, or None."""
        if not training or not 0.0 < rate < 1.0:
            return None
        ones = gf.ones_like(like)
        return [gf.nn.dropout(ones, rate) for _ in range(count)]

    def _gate_count(self):
        """How many dropout masks: one per gate (implementation 0 and 1) or one (2)."""
        return 1 if self.implementation == 2 else self.n_gates

    # ------------------------------------------------------------ the input projection
    def _bias_in(self):
        """The bias added to the input projection (GRU(reset_after) has a second one)."""
        return self.bias if self.use_bias else None

    def _project(self, x, masks):
        """x @ kernel + bias; with dropout masks, each gate's slice sees its own mask
        (the same at every time step when ``x`` is the whole sequence)."""
        if masks is not None and x.ndim == 3:
            masks = [gf.expand_dims(m, 1) for m in masks]
        if x.ndim == 3 and x.shape[1] is not None:  # one 2-D product: BLAS's fast path
            steps = x.shape[1]
            flat = self._project(gf.reshape(x, (-1, x.shape[2])), None if masks is None else
                                 [gf.reshape(gf.tile(m, (1, steps, 1)), (-1, x.shape[2])) for m in masks])
            return gf.reshape(flat, (-1, steps, flat.shape[-1]))
        if masks is None:
            z = gf.matmul(x, self.kernel)
        elif len(masks) == 1:
            z = gf.matmul(x * masks[0], self.kernel)
        else:
            kernels = gf.split(self.kernel, len(masks), axis=-1)
            z = gf.concatenate([gf.matmul(x * m, k) for m, k in zip(masks, kernels)], axis=-1)
        bias = self._bias_in()
        return z if bias is None else z + bias

    def _recurrent(self, h, masks, kernel=None):
        """h @ recurrent_kernel (or ``kernel``), per-gate masks as in ``_project``."""
        kernel = self.recurrent_kernel if kernel is None else kernel
        if masks is None:
            return gf.matmul(h, kernel)
        if len(masks) == 1:
            return gf.matmul(h * masks[0], kernel)
        kernels = gf.split(kernel, len(masks), axis=-1)
        return gf.concatenate([gf.matmul(h * m, k) for m, k in zip(masks, kernels)], axis=-1)

    # ------------------------------------------------------------ the loop
    def call(self, inputs, mask=None, training=False, initial_state=None):
        if isinstance(inputs, list):
            inputs, initial_state = inputs[0], list(inputs[1:])
        if isinstance(mask, list):
            mask = mask[0]
        if initial_state is None:
            initial_state = self.states if self.stateful else self.get_initial_state(inputs)
        in_masks = self._dropout_masks(inputs[:, 0, :], self.dropout, self._gate_count(), training)
        rec_masks = self._dropout_masks(initial_state[0], self.recurrent_dropout, self._gate_count(), training)
        if self.implementation == 0 and inputs.shape[1] is not None:
            sequence = self._project(inputs, in_masks)  # every time step at once, outside the loop

            def step(x_t, states):
                return self.cell(x_t, states[:self.n_states], rec_masks)
        else:
            sequence = inputs

            def step(x_t, states):
                return self.cell(self._project(x_t, in_masks), states[:self.n_states], rec_masks)
        last, outputs, states = K.rnn(step, sequence, initial_state, go_backwards=self.go_backwards, mask=mask,
                                      unroll=self.unroll, input_length=inputs.shape[1])
        if self.stateful:
            self.add_update(list(zip(self.states, states)))
        if self.zero_output_for_mask and mask is not None:
            kept = gf.cast(mask[:, ::-1] if self.go_backwards else mask, outputs.dtype)
            outputs = outputs * gf.expand_dims(kept, -1)
        output = outputs if self.return_sequences else last
        return [output] + list(states) if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None] * self.n_states if self.return_state else output_mask

    def keras3_weight_groups(self):
        """Where Keras 3's ``.weights.h5`` keeps the weights: in the layer's ``cell``."""
        return [("cell", self.weights)]

    def keras3_weight_paths(self, prefix=None):
        """Keras 3's paths of the weights: they live in a cell sub-layer ('lstm_1/lstm_cell/kernel')."""
        cell = to_snake_case(type(self).__name__) + "_cell"
        names = ("kernel", "recurrent_kernel", "bias")[:len(self.weights)]
        return [f"{prefix or self.name}/{cell}/{n}" for n in names]

    def get_config(self):
        config = {"return_sequences": self.return_sequences, "return_state": self.return_state,
                  "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                  "implementation": self.implementation}
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        return {**super().get_config(), **config}
