"""Philox-4x32-10 and the random ops built on it, written against ``xp``.

Pure integer arithmetic on arrays: the CuPy backend runs the very same code on the GPU
and gets the same bits (see graphflow/ops/random.py for the stream's definition). The
call counter arrives as a 0-d int64 array and is split into words on the device: no
kernel here reads a value back to the host.

On NumPy the array formulation makes ~60 passes over memory per draw (about 100 ms for
a 2.4M-element dropout mask); with numba installed the same rounds run as one compiled
loop (``philox_fill``, ~15x faster), bit for bit the same words.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from graphflow.ops import random as rnd
from graphflow.ops.nn import noise

from .. import jit
from ..table import CPU_KERNELS, KERNELS

_LO = 0xFFFFFFFF


def philox_fill(out, mask, threshold, scale, k0, k1, c_lo, c_hi):
    """The compiled form: the stream's words into ``out`` (uint32, flat), or — when
    ``mask`` is not empty — ``scale`` where ``word >> 8 >= threshold`` else 0 into
    ``mask`` (a dropout mask; ``out`` is then unused)."""
    n = mask.size if mask.size else out.size
    for b in range((n + 3) // 4):
        x0, x1 = np.uint32(b & 0xFFFFFFFF), np.uint32(b >> 32)
        x2, x3 = np.uint32(c_lo), np.uint32(c_hi)
        ka, kb = np.uint32(k0), np.uint32(k1)
        for r in range(10):
            if r:
                ka, kb = np.uint32(ka + np.uint32(0x9E3779B9)), np.uint32(kb + np.uint32(0xBB67AE85))
            p0 = np.uint64(x0) * np.uint64(0xD2511F53)
            p1 = np.uint64(x2) * np.uint64(0xCD9E8D57)
            x0, x1, x2, x3 = (np.uint32(p1 >> np.uint64(32)) ^ x1 ^ ka, np.uint32(p1 & np.uint64(0xFFFFFFFF)),
                              np.uint32(p0 >> np.uint64(32)) ^ x3 ^ kb, np.uint32(p0 & np.uint64(0xFFFFFFFF)))
        for i in range(4):
            j = 4 * b + i
            if j < n:
                w = x0 if i == 0 else x1 if i == 1 else x2 if i == 2 else x3
                if mask.size:
                    mask[j] = scale if (w >> np.uint32(8)) >= threshold else 0.0
                else:
                    out[j] = w


@functools.lru_cache(maxsize=None)
def _compiled_fill():
    return jit.loop(philox_fill)


def philox4x32(xp, c0, c1, c2, c3, k0: int, k1: int, rounds: int = rnd.PHILOX_ROUNDS):
    """Philox-4x32 of counter words ``c0..c3`` (uint32 arrays that broadcast) under the
    key ``(k0, k1)``; returns four uint32 arrays."""
    m0, m1 = (np.uint64(m) for m in rnd.PHILOX_M)
    shift, u32 = np.uint64(32), xp.uint32
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + rnd.PHILOX_W[0]) & _LO, (k1 + rnd.PHILOX_W[1]) & _LO
        p0 = c0.astype(xp.uint64) * m0
        p1 = c2.astype(xp.uint64) * m1
        c0, c1, c2, c3 = ((p1 >> shift).astype(u32) ^ c1 ^ u32(k0), p1.astype(u32),
                          (p0 >> shift).astype(u32) ^ c3 ^ u32(k1), p0.astype(u32))
    return c0, c1, c2, c3


def philox_words(xp, seed: int, counter, n: int, cpu: bool = False):
    """The first ``n`` uint32 words of the stream for ``(seed, counter)``; ``counter`` is
    a 0-d integer array (on the device). ``cpu``: host arrays, which the compiled loop
    (when numba is there) fills in one pass."""
    fill = _compiled_fill() if cpu else None
    if fill is not None:  # host arrays: reading the counter is no device sync
        c = int(counter) % 2**64
        out = np.empty(n, np.uint32)
        fill(out, np.empty(0, np.float32), 0, 0.0, seed & _LO, (seed >> 32) & _LO, c & _LO, c >> 32)
        return out
    blocks = -(-n // 4)
    b = xp.arange(blocks, dtype=xp.uint64)
    c = counter.astype(xp.uint64)
    words = philox4x32(xp, (b & np.uint64(_LO)).astype(xp.uint32), (b >> np.uint64(32)).astype(xp.uint32),
                       (c & np.uint64(_LO)).astype(xp.uint32), (c >> np.uint64(32)).astype(xp.uint32),
                       seed & _LO, (seed >> 32) & _LO)
    return xp.stack(words, axis=-1).reshape(-1)[:n]


def uniform(xp, seed: int, counter, shape, dtype, cpu: bool = False):
    """U[0, 1) of ``dtype`` and ``shape``: 24 bits per float32, 53 per float64."""
    n = math.prod(shape)
    if np.dtype(dtype).itemsize <= 4:
        w = philox_words(xp, seed, counter, n, cpu)
        u = (w >> np.uint32(8)).astype(dtype)
        u *= np.dtype(dtype).type(2.0 ** -24)   # (scalars: a device library takes no host arrays)
    else:
        w = philox_words(xp, seed, counter, 2 * n, cpu).reshape(n, 2)
        hi = (w[:, 0] >> np.uint32(5)).astype(np.float64)
        lo = (w[:, 1] >> np.uint32(6)).astype(np.float64)
        u = (hi * 2.0 ** 26 + lo) * 2.0 ** -53
        u = u.astype(dtype, copy=False)
    return u.reshape(shape)


def normal(xp, seed: int, counter, shape, dtype, cpu: bool = False):
    """N(0, 1) of ``dtype`` and ``shape`` by Box-Muller on pairs of 24-bit uniforms."""
    n = math.prod(shape)
    pairs = -(-n // 2)
    w = philox_words(xp, seed, counter, 2 * pairs, cpu).reshape(pairs, 2)
    real = np.dtype(dtype).type
    u1 = (w[:, 0] >> np.uint32(8)).astype(dtype)
    u1 += real(0.5)
    u1 *= real(2.0 ** -24)
    theta = (w[:, 1] >> np.uint32(8)).astype(dtype)
    theta *= real(2 * math.pi * 2.0 ** -24)
    r = xp.sqrt(real(-2) * xp.log(u1))
    z = xp.stack([r * xp.cos(theta), r * xp.sin(theta)], axis=-1).reshape(-1)[:n]
    return z.reshape(shape)


def _shape(op, args):
    return op.shape if op.shape is not None else tuple(args[0].shape)


def random_uniform(op, node, xp, cpu=False):
    lo, span = op.low, op.high - op.low
    real = np.dtype(op.dtype).type

    def run(*args, out=None):
        u = uniform(xp, op.seed, args[-1], _shape(op, args), op.dtype, cpu)
        if span != 1.0:
            u *= real(span)
        if lo:
            u += real(lo)
        return u
    return run


def random_normal(op, node, xp, cpu=False):
    real = np.dtype(op.dtype).type

    def run(*args, out=None):
        z = normal(xp, op.seed, args[-1], _shape(op, args), op.dtype, cpu)
        if op.stddev != 1.0:
            z *= real(op.stddev)
        if op.mean:
            z += real(op.mean)
        return z
    return run


def dropout_mask(xp, seed: int, counter, shape, rate: float, dtype, cpu: bool = False):
    """Inverted-dropout mask: ``1/(1 - rate)`` where the element's float32 uniform is
    >= rate, else 0 — the same bits on every backend. (``u = (w >> 8) * 2**-24 >= rate``
    is ``w >> 8 >= ceil(rate * 2**24)`` exactly, which the compiled loop tests.)"""
    scale = np.dtype(dtype).type(1.0 / (1.0 - rate))
    fill = _compiled_fill() if cpu else None
    if fill is not None:
        c = int(counter) % 2**64
        mask = np.empty(math.prod(shape), dtype)
        threshold = math.ceil(float(np.float32(rate)) * 2.0 ** 24)
        fill(np.empty(0, np.uint32), mask, threshold, float(scale), seed & _LO, (seed >> 32) & _LO, c & _LO, c >> 32)
        return mask.reshape(shape)
    keep = uniform(xp, seed, counter, shape, "float32") >= np.float32(rate)
    return keep.astype(dtype) * scale


def dropout(op, node, xp, cpu=False):
    def run(x, counter, out=None):
        mask = dropout_mask(xp, op.seed, counter, op.mask_shape(x.shape), op.rate, x.dtype, cpu)
        return x * mask, mask
    return run


# the array formulation in the portable table (any xp, same bits); on the NumPy backend
# the compiled Philox loop fills host arrays in one pass
for _op, _factory in ((rnd.RandomUniform, random_uniform), (rnd.RandomNormal, random_normal),
                      (noise.Dropout, dropout)):
    KERNELS.register(_op)(_factory)
    CPU_KERNELS.register(_op)(functools.partial(_factory, cpu=True))
