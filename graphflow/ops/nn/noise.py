"""Inverted dropout as a random op: its mask follows from (seed, counter), where the
counter is an int64 variable that ``gf.function`` advances by one per call.

So each call draws a fresh mask, the same seed replays the same masks, and the gradient
reuses the forward mask exactly (the op returns it as its second output).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...graph import Op, Tensor, TensorType, format_shape, variable
from ...graph.dtypes import is_float, is_integer
from .._util import as_float, as_int, operands, user_errors
from .seeding import draw_seed


@dataclass(frozen=True)
class Dropout(Op):
    """Inputs ``(x, counter)``; outputs ``(y, mask)`` with ``y = x * mask``. Each mask
    entry is ``1 / (1 - rate)`` with probability ``1 - rate`` and 0 otherwise, drawn from
    Philox keyed by ``(seed, counter)``. ``noise_shape`` (``None`` = x's shape; a ``None``
    entry = x's dim there) lets a mask broadcast, e.g. one draw per channel. dy/dx = mask.
    """
    views = ()  # kernels return fresh arrays

    rate: float
    seed: int
    noise_shape: tuple | None = None
    random = True

    def infer(self, x, counter):
        if not is_float(x.dtype):
            raise TypeError(f"dropout needs a float input, got {x.dtype}")
        if not (is_integer(counter.dtype) and counter.ndim == 0):
            raise TypeError(f"the counter must be an integer scalar, got {counter}")
        if not 0.0 <= self.rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), got {self.rate}")
        return [x, TensorType(x.dtype, self.mask_shape(x.shape))]

    def mask_shape(self, x_shape) -> tuple:
        """The noise shape with its ``None`` entries filled from ``x_shape``."""
        if self.noise_shape is None:
            return tuple(x_shape)
        if len(self.noise_shape) != len(x_shape):
            raise ValueError(f"noise_shape {self.noise_shape} must have one entry per axis of the "
                             f"input {format_shape(x_shape)}")
        shape = tuple(d if n is None else n for n, d in zip(self.noise_shape, x_shape))
        for n, d in zip(shape, x_shape):
            if n is not None and d is not None and n not in (1, d):
                raise ValueError(f"noise_shape {self.noise_shape} does not broadcast to the input "
                                 f"{format_shape(x_shape)}")
        return shape

    def grad(self, inputs, outputs, gys):
        return [gys[0] * outputs[1], None]

    def label(self):
        return f"dropout rate={self.rate:g}"


@user_errors
def dropout(x, rate, seed=None, noise_shape=None, name=None) -> Tensor:
    """Inverted dropout: zero each entry with probability ``rate``, scale the kept ones
    by ``1 / (1 - rate)``. ``rate=0`` returns ``x``. ``seed=None`` draws a seed now from
    the stream ``gf.set_random_seed`` sets. A counter variable is made for the op; every
    call of a compiled function advances it, so every call draws a fresh mask.

    >>> y = gf.nn.dropout(x, 0.25, seed=7)
    """
    (x,) = operands(x)
    rate = as_float(rate, "rate")
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    if rate == 0.0:
        return x
    seed = draw_seed() if seed is None else as_int(seed, "seed") % 2**64
    if noise_shape is not None:
        noise_shape = tuple(None if d is None else as_int(d, "noise_shape entry") for d in noise_shape)
    counter = variable(np.int64(0), trainable=False, name="dropout_counter")
    y, _ = Dropout(rate, seed, noise_shape)(x, counter, name=name)
    return y
