"""Core layers: Dense, Dropout, Flatten, Activation, Reshape, Permute, Lambda.

    >>> model.add(Dense(256, activation="relu"))
    >>> model.add(Dropout(0.5))                # only in the train function
"""
import numpy as np

import graphflow as gf

from .. import activations
from ..engine.base_layer import Layer
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
        if -1 in target:
            return gf.reshape(inputs, (batch if batch is not None else -1,) + target)
        return gf.reshape(inputs, (-1,) + target)

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
    """Wrap a function of graphflow tensors as a layer:
    ``Lambda(lambda t: t * 2)``, ``Lambda(gf.nn.softmax)``. Its config stores the
    function's name only: pass the function in ``custom_objects`` to load it again."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def get_config(self):
        return {**super().get_config(), "function": getattr(self.function, "__name__", "lambda"),
                "arguments": self.arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        name = config.pop("function")
        function = (custom_objects or {}).get(name)
        if function is None:
            raise ValueError(f"Lambda layer {config.get('name')}: its function {name!r} cannot be rebuilt from a "
                             f"config; pass it as custom_objects={{{name!r}: function}}")
        return cls(function, **config)
