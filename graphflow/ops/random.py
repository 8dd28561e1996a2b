"""Counter-based random numbers: uniform and normal draws whose bits follow from
``(seed, counter, element index)`` alone, through Philox-4x32-10 (Salmon et al., "Parallel
random numbers: as easy as 1, 2, 3", SC 2011; the generator of cuRAND and TensorFlow).

Every backend computes the same function of those integers, so the same seed gives the
same bits on the CPU and on a GPU; no generator state travels with the arrays. Each
random op reads an int64 counter variable made for it; every call of a compiled function
advances the counter by one, so every call draws fresh numbers and a seed replays them.

The stream, exactly (backends implement it; ``docs/ops.md`` states it too):

- key ``(k0, k1)`` = the seed's low and high 32 bits; counter block ``b`` of a call with
  counter value ``c`` is ``(b_lo, b_hi, c_lo, c_hi)``; one block gives four uint32 words,
  element ``j`` of the flattened (C-order) output takes word ``j``.
- uniform float32 in [0, 1): ``(w >> 8) * 2**-24``; float64: two words per element,
  ``((w[2j] >> 5) * 2**26 + (w[2j+1] >> 6)) * 2**-53``.
- normal: Box-Muller on consecutive pairs of uniforms ``u1 = (w[2k] >> 8 + 0.5) * 2**-24``
  (never 0), ``u2 = (w[2k+1] >> 8) * 2**-24``: ``z[2k] = r cos(2 pi u2)``, ``z[2k+1] = r
  sin(2 pi u2)`` with ``r = sqrt(-2 log u1)``, computed in the output dtype (bit-identical
  across backends up to the last ulp of their log/cos/sin).

    >>> noise = gf.random_normal(x, stddev=0.1, seed=7)     # shaped like x at run time
    >>> u = gf.random_uniform((3, 4), seed=1)               # a static shape
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..graph import Op, Tensor, TensorType, variable
from ..graph.dtypes import as_dtype, is_float, is_integer
from ._util import as_float, as_int, as_ints, user_errors
from .nn.seeding import draw_seed

PHILOX_M = (0xD2511F53, 0xCD9E8D57)   # round multipliers
PHILOX_W = (0x9E3779B9, 0xBB67AE85)   # key bumps (golden ratio, sqrt(3) - 1)
PHILOX_ROUNDS = 10


@dataclass(frozen=True)
class RandomOp(Op):
    """Base of random draws: inputs ``(like, counter)`` (the output takes ``like``'s
    run-time shape) or ``(counter,)`` with a static ``shape``."""

    seed: int
    dtype: str = "float32"
    shape: tuple | None = None
    random = True
    views = ()

    def infer(self, *types):
        if not is_float(self.dtype):
            raise TypeError(f"random draws are floats, got dtype {self.dtype}")
        counter = types[-1]
        if not (is_integer(counter.dtype) and counter.ndim == 0):
            raise TypeError(f"the counter must be an integer scalar, got {counter}")
        if self.shape is None:
            if len(types) != 2:
                raise ValueError("give either a tensor to take the shape of, or a static shape")
            return TensorType(self.dtype, types[0].shape)
        if len(types) != 1:
            raise ValueError("a static shape takes no tensor input")
        return TensorType(self.dtype, self.shape)

    def grad(self, inputs, outputs, gys):
        return [None] * len(inputs)  # the draw does not depend on the values of its inputs


@dataclass(frozen=True)
class RandomUniform(RandomOp):
    """u ~ U[low, high): ``low + (high - low) * uniform(seed, counter, index)``."""
    low: float = 0.0
    high: float = 1.0

    def label(self):
        return f"random_uniform [{self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class RandomNormal(RandomOp):
    """z ~ N(mean, stddev²): ``mean + stddev * normal(seed, counter, index)``."""
    mean: float = 0.0
    stddev: float = 1.0

    def label(self):
        return f"random_normal μ={self.mean:g} σ={self.stddev:g}"


def _draw(op_type, shape_or_like, seed, dtype, name, **params):
    seed = draw_seed() if seed is None else as_int(seed, "seed") % 2**64
    if isinstance(shape_or_like, Tensor):
        dtype = shape_or_like.dtype if dtype is None and is_float(shape_or_like.dtype) else dtype or "float32"
        op, inputs = op_type(seed, as_dtype(dtype), None, **params), [shape_or_like]
    else:
        try:
            shape = as_ints(shape_or_like, "shape")
            if any(d < 0 for d in shape):
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError(f"the shape must be a tensor or a tuple of ints >= 0, got {shape_or_like!r}") from None
        op, inputs = op_type(seed, as_dtype(dtype or "float32"), shape, **params), []
    counter = variable(0, dtype="int64", trainable=False, name="random_counter")
    return op(*inputs, counter, name=name)


@user_errors
def random_uniform(shape, low=0.0, high=1.0, seed=None, dtype=None, name=None) -> Tensor:
    """Uniform draws in ``[low, high)``, fresh on every call of the compiled function.
    ``shape``: a tuple of ints, or a tensor whose run-time shape to take (and whose float
    dtype, unless ``dtype`` is given). ``seed=None`` draws one from ``gf.set_random_seed``'s
    stream.

    >>> u = gf.random_uniform((2, 3), seed=42)
    """
    low, high = as_float(low, "low"), as_float(high, "high")
    if not (low < high and math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"low must be below high, both finite, got [{low}, {high})")
    return _draw(RandomUniform, shape, seed, dtype, name, low=low, high=high)


@user_errors
def random_normal(shape, mean=0.0, stddev=1.0, seed=None, dtype=None, name=None) -> Tensor:
    """Normal draws N(mean, stddev²), fresh on every call; arguments as ``random_uniform``.

    >>> noisy = x + gf.random_normal(x, stddev=0.1)
    """
    mean, stddev = as_float(mean, "mean"), as_float(stddev, "stddev")
    if not (stddev >= 0 and math.isfinite(stddev) and math.isfinite(mean)):
        raise ValueError(f"stddev must be >= 0 (and it and the mean finite), got mean={mean}, stddev={stddev}")
    return _draw(RandomNormal, shape, seed, dtype, name, mean=mean, stddev=stddev)


