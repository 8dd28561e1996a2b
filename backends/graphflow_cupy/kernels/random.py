"""Random draws on the GPU (csrc/random.cu): one Philox kernel per draw, bit for bit the
stream of the NumPy backend's array formulation (backends/graphflow_numpy/kernels/
random.py stays the reference; the test suite compares the two on the CPU, running this
kernel's per-block function there). The call counter stays on the device."""
from __future__ import annotations

import math

import numpy as np

from graphflow.ops import random as rnd
from graphflow.ops.nn import noise

from .. import device
from ..source import static_kernel
from ._register import float_kernel, prod

UNIFORM = static_kernel("random.cu", "gf_uniform")
NORMAL = static_kernel("random.cu", "gf_normal")
DROPOUT = static_kernel("random.cu", "gf_dropout")
_LO = 0xFFFFFFFF


def _key(seed: int) -> tuple:
    return np.uint32(seed & _LO), np.uint32((seed >> 32) & _LO)


def _counter(xp, counter):
    return counter if counter.dtype == np.int64 else counter.astype(np.int64)


def _shape(op, args):
    return op.shape if op.shape is not None else tuple(args[0].shape)


def _draw(kernel, op, xp, per, scale, shift):
    """A draw of ``op.dtype``: ``per`` elements per Philox block, then ``* scale`` and
    ``+ shift`` where they are not 1 and 0 (as the NumPy kernels apply them)."""
    dtype = np.dtype(op.dtype)
    tail = (dtype.type(scale), dtype.type(shift))
    flags = (int(scale != 1.0), int(shift != 0))

    def run(*args, out=None):
        shape = _shape(op, args)
        result = xp.empty(shape, dtype)
        count = prod(shape)
        index = device.index_type(count)
        device.each(device.static(kernel, dtype, index), -(-count // per), index, result, index(count),
                    *_key(op.seed), _counter(xp, args[-1]), *tail, *device.scalars(index, *flags))
        return result
    return run


@float_kernel(rnd.RandomUniform)
def random_uniform(op, node, xp):
    per = 4 if np.dtype(op.dtype).itemsize <= 4 else 2   # float64 takes two words per element
    return _draw(UNIFORM, op, xp, per, op.high - op.low, op.low)


@float_kernel(rnd.RandomNormal)
def random_normal(op, node, xp):
    return _draw(NORMAL, op, xp, 4, op.stddev, op.mean)


@float_kernel(noise.Dropout)
def dropout(op, node, xp):
    threshold = np.uint32(math.ceil(float(np.float32(op.rate)) * 2.0 ** 24))

    def run(x, counter, out=None):
        dtype = x.dtype
        mask_shape = op.mask_shape(x.shape)
        mask = xp.empty(mask_shape, dtype)
        count = prod(mask_shape)
        same = tuple(mask_shape) == tuple(x.shape)
        x_in = xp.ascontiguousarray(x) if same else mask
        y = xp.empty(x.shape, dtype) if same else mask
        index = device.index_type(count)
        fn = device.static(DROPOUT, dtype, index)
        device.each(fn, -(-count // 4), index, x_in, y, mask, index(count), *_key(op.seed),
                    _counter(xp, counter), threshold, dtype.type(1.0 / (1.0 - op.rate)), index(int(same)))
        return (y if same else x * mask), mask
    return run
