"""Weight initialisers, as Keras 2's ``keras.initializers``.

An initialiser is called with a shape (and a dtype) and returns the initial value as a
NumPy array; the layer turns it into a graphflow variable. With ``seed=None`` each call
takes a seed from graphflow's seed stream (``gf.draw_seed()``), so ``gf.set_random_seed(s)``
before building a model makes its weights reproducible -- and so does ``np.random.seed(s)``
(as with Keras 2) when no graphflow seed was set, because the stream then follows NumPy's
global generator.

Fans (Keras 2): a 2-D ``(in, out)`` kernel has fan_in = in, fan_out = out; a conv kernel
``(kh, kw, in, out)`` has fan_in = kh*kw*in, fan_out = kh*kw*out.

    >>> init = glorot_uniform(seed=0)
    >>> w = init((784, 10))                  # uniform in +-sqrt(6 / (784 + 10))
"""
import numpy as np

import graphflow as gf

from . import backend as K
from ._utils import Lookup


def _rng(seed):
    return np.random.default_rng(gf.draw_seed() if seed is None else seed)


def compute_fans(shape, data_format="channels_last"):
    """(fan_in, fan_out) of a weight of ``shape``, as Keras 2 defines them."""
    shape = tuple(shape)
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) in (3, 4, 5):
        if data_format == "channels_first":
            receptive = int(np.prod(shape[2:]))
            return shape[1] * receptive, shape[0] * receptive
        receptive = int(np.prod(shape[:-2]))
        return shape[-2] * receptive, shape[-1] * receptive
    size = np.sqrt(np.prod(shape))  # biases, odd ranks
    return size, size


class Initializer:
    """Base class: ``init(shape, dtype=None) -> np.ndarray``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype or K.floatx())


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype or K.floatx())


class Constant(Initializer):
    """Every entry ``value``."""

    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype or K.floatx())

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """Normal(mean, stddev)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return _rng(self.seed).normal(self.mean, self.stddev, shape).astype(dtype or K.floatx())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform(minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return _rng(self.seed).uniform(self.minval, self.maxval, shape).astype(dtype or K.floatx())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated(rng, mean, stddev, shape):
    """Normal draws; any beyond two standard deviations is drawn again (as TensorFlow)."""
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(out) > 2
    return mean + stddev * out


class TruncatedNormal(RandomNormal):
    """Normal(mean, stddev) with draws beyond 2 stddev redrawn."""

    def __call__(self, shape, dtype=None):
        return _truncated(_rng(self.seed), self.mean, self.stddev, shape).astype(dtype or K.floatx())


class VarianceScaling(Initializer):
    """Scale to the fan: n = fan_in, fan_out or their mean (``mode``); 'normal' draws a
    truncated normal with stddev sqrt(scale / n); 'uniform' draws in +-sqrt(3 scale / n)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"`scale` must be a positive float. Got: {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: expected 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("normal", "uniform"):
            raise ValueError(f"Invalid `distribution` argument: expected 'normal' or 'uniform', got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = _rng(self.seed)
        if self.distribution == "normal":
            out = _truncated(rng, 0.0, np.sqrt(scale), shape)
        else:
            limit = np.sqrt(3.0 * scale)
            out = rng.uniform(-limit, limit, shape)
        return out.astype(dtype or K.floatx())

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _one_blas_thread():
    """Limit LAPACK to one thread while it runs (threadpoolctl when installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1)


class Orthogonal(Initializer):
    """A random orthogonal matrix (rows or columns orthonormal) times ``gain``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        flat = (shape[0], int(np.prod(shape[1:])))
        a = _rng(self.seed).normal(0.0, 1.0, flat)
        # QR of the tall orientation, signs fixed by R's diagonal: uniformly distributed
        # (Haar) like Keras 2.0.6's SVD, several times faster for an RNN's (units, 4*units)
        tall = a if flat[0] >= flat[1] else a.T
        with _one_blas_thread():  # a few hundred rows: threads only add start-up and contention
            q, r = np.linalg.qr(tall)
        q = q * np.sign(np.diag(r))
        q = (q if flat[0] >= flat[1] else q.T).reshape(shape)
        return (self.gain * q).astype(dtype or K.floatx())

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity (2-D square shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"Identity matrix initializer can only be used for 2D square matrices, got {shape}")
        return (self.gain * np.eye(shape[0])).astype(dtype or K.floatx())

    def get_config(self):
        return {"gain": self.gain}


def lecun_uniform(seed=None):
    """Uniform in +-sqrt(3 / fan_in)."""
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def lecun_normal(seed=None):
    """Truncated normal, stddev sqrt(1 / fan_in)."""
    return VarianceScaling(1.0, "fan_in", "normal", seed)


def glorot_normal(seed=None):
    """Truncated normal, stddev sqrt(2 / (fan_in + fan_out))."""
    return VarianceScaling(1.0, "fan_avg", "normal", seed)


def glorot_uniform(seed=None):
    """Uniform in +-sqrt(6 / (fan_in + fan_out)) (the Keras default for kernels)."""
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def he_normal(seed=None):
    """Truncated normal, stddev sqrt(2 / fan_in)."""
    return VarianceScaling(2.0, "fan_in", "normal", seed)


def he_uniform(seed=None):
    """Uniform in +-sqrt(6 / fan_in)."""
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


zero = zeros = Zeros
one = ones = Ones
constant = Constant
uniform = random_uniform = RandomUniform
normal = random_normal = RandomNormal
truncated_normal = TruncatedNormal
identity = Identity
orthogonal = Orthogonal

_ALL = {k: v for k, v in globals().items() if isinstance(v, type) and issubclass(v, Initializer)}
_ALL.update({f.__name__: f for f in (lecun_uniform, lecun_normal, glorot_normal, glorot_uniform,
                                     he_normal, he_uniform)})
_ALL.update(zero=Zeros, zeros=Zeros, one=Ones, ones=Ones, constant=Constant, uniform=RandomUniform,
            random_uniform=RandomUniform, normal=RandomNormal, random_normal=RandomNormal,
            truncated_normal=TruncatedNormal, identity=Identity, orthogonal=Orthogonal)


_lookup = Lookup(_ALL, "initializer", instantiate=True)
serialize, deserialize = _lookup.serialize, _lookup.deserialize
get = _lookup.get  # a name ('glorot_uniform'), a config dict, an Initializer or a function
