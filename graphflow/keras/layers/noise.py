"""Noise layers, as Keras 2's ``keras.layers.noise``: GaussianNoise, GaussianDropout and
AlphaDropout. Like Dropout they act only in the training phase (the train function's
graph); test and predict see the identity.

The noise comes from graphflow's counter-based generator (``gf.random_normal``,
``gf.random_uniform``): a layer's draw is a function of its seed and the call count of
the compiled training function, so every batch gets fresh noise and ``seed=`` replays it
exactly, on every backend. ``seed=None`` takes the next seed of ``gf.draw_seed()``'s
stream when the training graph is built, as ``Dropout`` does: ``gf.set_random_seed(s)``
(or, without it, ``np.random.seed(s)``) before training replays that too.

    >>> model.add(GaussianNoise(0.1))          # x + N(0, 0.1²) while training
    >>> model.add(GaussianDropout(0.2))        # x * N(1, 0.2 / 0.8) while training
"""
import math

import graphflow as gf

from ..engine.base_layer import Layer

# SELU's constants (Klambauer et al., "Self-Normalizing Neural Networks", 2017)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class _NoiseLayer(Layer):
    """What the three share: the identity outside training, an optional ``seed``
    (written to the config only when given: Keras 2 had none), masks pass through."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"layer {self.name}: seed must be an int >= 0 or None, got {seed!r}")
        self.seed = seed
        self.supports_masking = True

    def _seed(self):
        """The seed of one training graph's draw: the layer's, or the next of the stream."""
        return gf.draw_seed() if self.seed is None else self.seed

    def call(self, inputs, training=False):
        return self._noised(inputs) if training and self._active() else inputs

    def get_config(self):
        config = super().get_config()
        if self.seed is not None:
            config["seed"] = self.seed
        return config


def _rate(rate, name):
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"layer {name}: rate must be in [0, 1], got {rate}")
    return rate


class GaussianNoise(_NoiseLayer):
    """Adds zero-centred Gaussian noise of standard deviation ``stddev`` while training
    (a regulariser; also data augmentation for real-valued inputs).

        >>> GaussianNoise(0.1)(x)       # training: x + 0.1 * N(0, 1); otherwise x
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        self.stddev = float(stddev)
        if not self.stddev >= 0:
            raise ValueError(f"layer {self.name}: stddev must be >= 0, got {stddev}")

    def _active(self):
        return self.stddev > 0

    def _noised(self, inputs):
        return inputs + gf.random_normal(inputs, stddev=self.stddev, seed=self._seed())

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


class GaussianDropout(_NoiseLayer):
    """Multiplies the inputs by noise drawn from N(1, rate / (1 - rate)) while training:
    the mean is kept, and the variance equals that of Dropout at the same ``rate``.
    ``rate`` 0 or 1 leaves the inputs alone (as Keras 2).

        >>> GaussianDropout(0.5)(x)     # training: x * N(1, 1); otherwise x
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        self.rate = _rate(rate, self.name)

    def _active(self):
        return 0.0 < self.rate < 1.0

    def _noised(self, inputs):
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * gf.random_normal(inputs, mean=1.0, stddev=stddev, seed=self._seed())

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class AlphaDropout(_NoiseLayer):
    """Dropout for self-normalising (SELU) networks: dropped entries are set to SELU's
    negative saturation value ``-alpha * scale`` instead of 0, then an affine map
    ``a * x + b`` restores the input's mean and variance (for zero-mean, unit-variance
    inputs). Each entry is kept with probability ``1 - rate`` (drawn uniformly: kept
    when ``u >= rate``). ``noise_shape`` as Dropout's: ``None`` entries follow the input,
    1 shares one draw along that axis.

        >>> AlphaDropout(0.1)(x)
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        self.rate = _rate(rate, self.name)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _active(self):
        return 0.0 < self.rate < 1.0

    def _noised(self, inputs):
        rate, saturated = self.rate, -_SELU_ALPHA * _SELU_SCALE
        # the draw takes only the input's shape: no gradient flows through the mask
        u = gf.stop_gradient(gf.random_uniform(self._noise_like(inputs), seed=self._seed()))
        kept = gf.cast(u >= rate, inputs.dtype)
        a = ((1.0 - rate) * (1.0 + rate * saturated ** 2)) ** -0.5
        b = -a * saturated * rate
        return a * (inputs * kept + saturated * (1.0 - kept)) + b

    def _noise_like(self, inputs):
        """A tensor shaped like one draw: the input, or a slice of it where
        ``noise_shape`` shares the draw (1 on an axis of the input longer than 1)."""
        if self.noise_shape is None:
            return inputs
        if len(self.noise_shape) != inputs.ndim:
            raise ValueError(f"layer {self.name}: noise_shape {self.noise_shape} has {len(self.noise_shape)} "
                             f"entries for an input of shape {inputs.shape}")
        key = []
        for axis, (want, have) in enumerate(zip(self.noise_shape, inputs.shape)):
            if want is not None and want != 1 and have is not None and want != have:
                raise ValueError(f"layer {self.name}: noise_shape {self.noise_shape} does not broadcast to the "
                                 f"input shape {inputs.shape} (axis {axis})")
            key.append(slice(0, 1) if want == 1 else slice(None))
        return inputs[tuple(key)]

    def get_config(self):
        config = {**super().get_config(), "rate": self.rate}
        if self.noise_shape is not None:
            config["noise_shape"] = self.noise_shape
        return config
