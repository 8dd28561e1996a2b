"""Core layers: Dense, Dropout (and SpatialDropout1D/2D), Flatten, Activation, Reshape,
Permute, RepeatVector, Lambda, ActivityRegularization.

    >>> model.add(Dense(256, activation="relu"))
    >>> model.add(Dropout(0.5))                # only in the train function
"""
import numpy as np

import graphflow as gf

from .. import activations, regularizers
from .._utils import normalize_data_format
from ..engine.base_layer import Layer
from ..engine.build_budget import charge
from ._options import KERNEL_AND_BIAS, options_config, set_options


class Dense(Layer):
    """``activation(dot(x, kernel) + bias)``; kernel ``(input_dim, units)``. An input of
    rank > 2 is multiplied on its last axis."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        if "output_dim" in kwargs:  # Keras 1 spelling
            units = kwargs.pop("output_dim")
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        set_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                    kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                    activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                    bias_constraint=bias_constraint)
        self.input_spec = {"min_ndim": 2}

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"layer {self.name}: the last dimension of the input must be known, got shape "
                             f"{input_shape}")
        self.kernel = self.add_weight("kernel", (input_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        self.input_spec = {"min_ndim": 2, "axes": {-1: input_dim}}
        self.built = True

    def call(self, inputs):
        output = gf.matmul(inputs, self.kernel)
        if self.use_bias:
            output = gf.nn.bias_add(output, self.bias)
        return self.activation(output)

    def get_config(self):
        config = {"units": self.units, "activation": activations.serialize(self.activation),
                  "use_bias": self.use_bias, **options_config(self, KERNEL_AND_BIAS)}
        return {**super().get_config(), **config}


class Dropout(Layer):
    """Inverted dropout while training: each entry is zeroed with probability ``rate``
    and survivors are scaled by ``1 / (1 - rate)``; the identity in test and predict."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = min(1.0, max(0.0, float(rate)))
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or not 0.0 < self.rate < 1.0:
            return inputs
        # seed=None: a fresh seed per train graph from gf.draw_seed(), so gf.set_random_seed(s)
        # (or np.random.seed(s) when no graphflow seed is set) replays the masks
        return gf.nn.dropout(inputs, self.rate, seed=self.seed, noise_shape=self.noise_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...), in C order. ``data_format``
    ('channels_first') is the Keras 2.1+ option: such inputs are moved to channels_last
    first, so the result matches a channels_last model's."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format
        self.input_spec = {"min_ndim": 2}

    def call(self, inputs):
        if None in inputs.shape[1:]:
            raise ValueError(f'The shape of the input to "Flatten" is not fully defined (got {inputs.shape[1:]}). '
                             f'Make sure to pass a complete "input_shape" or "batch_input_shape" argument to the '
                             f'first layer in your model.')
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = gf.transpose(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        return gf.flatten(inputs)

    def get_config(self):
        config = super().get_config()
        if self.data_format is not None:
            config["data_format"] = self.data_format
        return config


class Activation(Layer):
    """Apply an activation function: ``Activation('relu')``."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Reshape(Layer):
    """Reshape to ``target_shape`` (batch axis excluded; one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def _resolved(self, input_shape):
        known = [d for d in self.target_shape if d != -1]
        unknown = [i for i, d in enumerate(self.target_shape) if d == -1]
        if len(unknown) > 1:
            raise ValueError(f"Can only specify one unknown dimension in target_shape {self.target_shape}")
        if None in input_shape[1:]:
            return self.target_shape
        total = int(np.prod(input_shape[1:], dtype=np.int64))
        if unknown:
            if total % int(np.prod(known, dtype=np.int64)):
                raise ValueError(f"total size of the new array must be unchanged: cannot reshape "
                                 f"{input_shape} into {self.target_shape}")
            out = list(self.target_shape)
            out[unknown[0]] = total // int(np.prod(known, dtype=np.int64))
            return tuple(out)
        if total != int(np.prod(self.target_shape, dtype=np.int64)):
            raise ValueError(f"total size of the new array must be unchanged: cannot reshape {input_shape} into "
                             f"{self.target_shape} (layer {self.name})")
        return self.target_shape

    def call(self, inputs):
        target = self._resolved(inputs.shape)
        batch = inputs.shape[0]
        if -1 not in target:
            return gf.reshape(inputs, (-1,) + target)
        if batch is not None:
            return gf.reshape(inputs, (batch,) + target)
        return self._reshape_two_unknown(inputs, target)

    def _reshape_two_unknown(self, inputs, target):
        """Batch and the -1 axis both unknown: reshape like a tensor of that run-time
        shape, made from one entry per (sample, position along the -1 axis)."""
        flat = gf.flatten(inputs)
        known = int(np.prod([d for d in target if d != -1], dtype=np.int64))
        like = gf.zeros_like(flat[:, ::known])        # (batch, length of the -1 axis)
        axis = target.index(-1)
        for _ in range(axis):
            like = gf.expand_dims(like, 1)
        for _ in range(len(target) - axis - 1):
            like = gf.expand_dims(like, -1)
        shape = (1,) + tuple(1 if d == -1 else d for d in target)
        charge(self, "a constant", shape, weight=False)
        like = like + np.zeros(shape, like.dtype)
        return gf.reshape_like(flat, like)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permute the non-batch axes: ``Permute((2, 1))`` swaps axes 1 and 2 (1-based)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Invalid permutation `dims`: {dims}; it must be a permutation of 1..{len(self.dims)}")

    def call(self, inputs):
        return gf.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class Lambda(Layer):
    """Wrap a function of graphflow tensors as a layer: ``Lambda(lambda t: t * 2)``,
    ``Lambda(K.square)``, ``Lambda(f, arguments={'a': 2})`` (``f(x, a=2)``). The output
    shape is inferred from the graph (``output_shape`` is accepted and not needed).

    ``get_config()`` holds the function itself, so ``from_config`` in the same process
    rebuilds the layer (as Keras 2's marshalled bytecode did). A saved model (JSON or
    HDF5) stores the function's name only: load it with ``custom_objects={name: f}``;
    without it loading fails with an error that says so. Bytecode is never saved or
    run from a file."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        self.supports_masking = mask is not None

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def get_config(self):
        return {**super().get_config(), "function": self.function, "output_shape": self._output_shape,
                "arguments": self.arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config.pop("function_type", None)
        config.pop("output_shape_type", None)
        config["function"] = cls._resolve(config["function"], custom_objects, config.get("name"), "function")
        if config.get("output_shape") is not None and not isinstance(config["output_shape"], (list, tuple)):
            config["output_shape"] = cls._resolve(config["output_shape"], custom_objects, config.get("name"),
                                                  "output_shape")
        return cls(**config)

    @staticmethod
    def _resolve(value, custom_objects, layer_name, what):
        if callable(value):
            return value
        name = value[0] if isinstance(value, (list, tuple)) else value
        found = (custom_objects or {}).get(name) if isinstance(name, str) else None
        if found is None:
            raise ValueError(f"Lambda layer {layer_name}: its {what} {name!r} cannot be rebuilt from a saved "
                             f"config (graphflow saves the name, never bytecode); pass it as "
                             f"custom_objects={{{name!r}: the_function}}")
        return found


class SpatialDropout1D(Dropout):
    """Dropout of whole feature maps of ``(batch, steps, features)``: one draw per
    (sample, feature), shared along the steps (for strongly correlated neighbours)."""

    def __init__(self, rate, **kwargs):
        kwargs.pop("noise_shape", None)
        super().__init__(rate, noise_shape=(None, 1, None), **kwargs)
        self.input_spec = {"ndim": 3}

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape")
        return config


class SpatialDropout2D(Dropout):
    """Dropout of whole channels of an image: one draw per (sample, channel), shared over
    rows and columns."""

    def __init__(self, rate, data_format=None, **kwargs):
        kwargs.pop("noise_shape", None)
        self.data_format = normalize_data_format(data_format)
        shape = (None, 1, 1, None) if self.data_format == "channels_last" else (None, None, 1, 1)
        super().__init__(rate, noise_shape=shape, **kwargs)
        self.input_spec = {"ndim": 4}

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape")
        return {**config, "data_format": self.data_format}


class SpatialDropout3D(Dropout):
    """Dropout of whole channels of a volume: one draw per (sample, channel), shared over
    depth, rows and columns."""

    def __init__(self, rate, data_format=None, **kwargs):
        kwargs.pop("noise_shape", None)
        self.data_format = normalize_data_format(data_format)
        shape = (None, 1, 1, 1, None) if self.data_format == "channels_last" else (None, None, 1, 1, 1)
        super().__init__(rate, noise_shape=shape, **kwargs)
        self.input_spec = {"ndim": 5}

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape")
        return {**config, "data_format": self.data_format}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the input repeated ``n`` times."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)
        self.input_spec = {"ndim": 2}

    def call(self, inputs):
        return gf.tile(gf.expand_dims(inputs, 1), (1, self.n, 1))

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum(|x|) + l2 * sum(x**2)`` of its output to the loss
    (of the phase graph the call belongs to)."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.l1, self.l2 = float(l1), float(l2)
        self.activity_regularizer = regularizers.L1L2(l1=self.l1, l2=self.l2)

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
