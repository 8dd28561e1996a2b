"""Recurrent layers, as Keras 2.0.6's ``keras.layers.recurrent``: SimpleRNN, GRU, LSTM.

    >>> model.add(LSTM(128, input_shape=(50, 32)))              # (batch, 50, 32) -> (batch, 128)
    >>> model.add(GRU(64, return_sequences=True))               # -> (batch, time, 64)

Formulas and weight layouts are Keras 2.0.6's (``kernel`` (input_dim, g*units),
``recurrent_kernel`` (units, g*units), ``bias`` (g*units,)): LSTM gates in the order
i, f, c, o; GRU gates z, r, h. ``GRU(reset_after=True)`` is the later Keras / CuDNN
variant (Keras 3's default) with a (2, 3*units) bias.
"""
import warnings

import numpy as np

import graphflow as gf

from .. import activations
from .. import backend as K
from .. import initializers
from ._options import options_config, set_options
from .recurrent_base import Recurrent

_WEIGHT_OPTIONS = ("kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
                   "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                   "recurrent_constraint", "bias_constraint")


# Keras 1 argument names that Keras 2.0.6 still accepted (with a warning), and their values
_KERAS1_NAMES = {"output_dim": "units", "init": "kernel_initializer", "inner_init": "recurrent_initializer",
                 "inner_activation": "recurrent_activation", "W_regularizer": "kernel_regularizer",
                 "U_regularizer": "recurrent_regularizer", "b_regularizer": "bias_regularizer",
                 "dropout_W": "dropout", "dropout_U": "recurrent_dropout", "consume_less": "implementation"}
_CONSUME_LESS = {"cpu": 0, "mem": 1, "gpu": 2}


def _keras1_arguments(cls, units, kwargs):
    """(units, kwargs) with Keras 1 spellings (``output_dim``, ``init``, ``consume_less='gpu'``...)
    turned into 2.0.6's."""
    for old, new in _KERAS1_NAMES.items():
        if old in kwargs:
            if new in kwargs:
                raise TypeError(f"{cls.__name__}: got both {old!r} (Keras 1) and {new!r}")
            value = kwargs.pop(old)
            kwargs[new] = _CONSUME_LESS.get(value, value) if old == "consume_less" else value
            warnings.warn(f"Update your `{cls.__name__}` call to the Keras 2 API: {old!r} is now {new!r}",
                          stacklevel=4)
    if "forget_bias_init" in kwargs:  # only 'one' meant something Keras 2 has
        kwargs["unit_forget_bias"] = kwargs.pop("forget_bias_init") == "one"
    return kwargs.pop("units", units), kwargs


class _Gated(Recurrent):
    """Options and weights every recurrent layer has."""

    def __init__(self, units=None, activation="tanh", recurrent_activation="hard_sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if units is None:
            raise TypeError(f"{type(self).__name__} needs `units` (the size of its output and state)")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        set_options(self, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                    bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                    recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                    activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                    recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))

    def _bias_shape(self):
        return (self.n_gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build_weights(self, input_dim):
        g = self.n_gates * self.units
        self.kernel = self.add_weight("kernel", (input_dim, g), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, g),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight("bias", self._bias_shape(), initializer=self._bias_initializer(),
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None

    def get_config(self):
        config = {"units": self.units, "activation": activations.serialize(self.activation),
                  "recurrent_activation": activations.serialize(self.recurrent_activation),
                  "use_bias": self.use_bias, **options_config(self, _WEIGHT_OPTIONS),
                  "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout}
        return {**super().get_config(), **config}


class SimpleRNN(_Gated):
    """Fully connected RNN: ``h_t = activation(x_t·kernel + bias + h_{t-1}·recurrent_kernel)``."""

    def __init__(self, units=None, activation="tanh", **kwargs):
        units, kwargs = _keras1_arguments(type(self), units, kwargs)
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)

    def cell(self, x_t, states, rec_masks):
        h = self.activation(x_t + self._recurrent(states[0], rec_masks))
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.pop("recurrent_activation")
        return config


class GRU(_Gated):
    """Gated recurrent unit (Cho et al. 2014), gates z, r, h:
    ``z = σ(x_z + h·U_z)``, ``r = σ(x_r + h·U_r)``, ``hh = act(x_h + (r*h)·U_h)``,
    ``h' = z*h + (1-z)*hh`` (σ = ``recurrent_activation``). ``reset_after=True`` applies
    the reset after the product, ``hh = act(x_h + r*(h·U_h + b_rh))``, with a bias of
    shape (2, 3*units): input bias then recurrent bias (CuDNN's and Keras 3's layout)."""

    n_gates = 3

    def __init__(self, units=None, reset_after=False, **kwargs):
        units, kwargs = _keras1_arguments(type(self), units, kwargs)
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _bias_in(self):
        if not self.use_bias:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def cell(self, x_t, states, rec_masks):
        h, u = states[0], self.units
        if self.reset_after:
            inner = self._recurrent(h, rec_masks)
            if self.use_bias:
                inner = inner + self.bias[1]
            x_z, x_r, x_h = gf.split(x_t, 3, axis=-1)
            i_z, i_r, i_h = gf.split(inner, 3, axis=-1)
            z = self.recurrent_activation(x_z + i_z)
            r = self.recurrent_activation(x_r + i_r)
            hh = self.activation(x_h + r * i_h)
        else:
            zr_masks = None if rec_masks is None else rec_masks[:2]
            u_zr, u_h = gf.split(self.recurrent_kernel, [2 * u], axis=-1)
            x_z, x_r, x_h = gf.split(x_t, 3, axis=-1)
            i_z, i_r = gf.split(self._recurrent(h, zr_masks, u_zr), 2, axis=-1)
            z = self.recurrent_activation(x_z + i_z)
            r = self.recurrent_activation(x_r + i_r)
            h_masked = h if rec_masks is None else h * rec_masks[-1]
            hh = self.activation(x_h + K.dot(r * h_masked, u_h))
        h_new = z * h + (1.0 - z) * hh
        return h_new, [h_new]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


class LSTM(_Gated):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), gates i, f, c, o:
    ``i = σ(x_i + h·U_i)``, ``f = σ(x_f + h·U_f)``, ``c' = f*c + i*act(x_c + h·U_c)``,
    ``o = σ(x_o + h·U_o)``, ``h' = o*act(c')``. ``unit_forget_bias=True`` starts the
    forget gate's bias at 1 (Jozefowicz et al. 2015)."""

    n_gates = 4
    n_states = 2

    def __init__(self, units=None, unit_forget_bias=True, **kwargs):
        units, kwargs = _keras1_arguments(type(self), units, kwargs)
        kwargs.setdefault("unit_forget_bias", unit_forget_bias)
        unit_forget_bias = kwargs.pop("unit_forget_bias")
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = self.bias_initializer, self.units

        def forget_ones(shape, dtype=None):
            return np.concatenate([base((u,), dtype), initializers.Ones()((u,), dtype), base((2 * u,), dtype)])
        return forget_ones

    def _fused_gate(self):
        """The gate name when the step's point-wise part is ``gf.nn.lstm_cell`` (one
        kernel each way): tanh activation and a sigmoid or hard_sigmoid gate."""
        gate = getattr(self.recurrent_activation, "__name__", None)
        plain = self.activation is activations.get("tanh")
        return gate if plain and self.recurrent_activation is activations.get(gate) and gate in (
            "sigmoid", "hard_sigmoid") else None

    def cell(self, x_t, states, rec_masks):
        h, c = states
        z = x_t + self._recurrent(h, rec_masks)
        gate = self._fused_gate()
        if gate is not None:
            h_new, c_new = gf.nn.lstm_cell(z, c, gate)
            return h_new, [h_new, c_new]
        sigma = self.recurrent_activation
        z_i, z_f, z_c, z_o = gf.split(z, 4, axis=-1)
        c_new = sigma(z_f) * c + sigma(z_i) * self.activation(z_c)
        h_new = sigma(z_o) * self.activation(c_new)
        return h_new, [h_new, c_new]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}
