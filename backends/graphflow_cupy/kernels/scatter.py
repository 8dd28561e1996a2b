"""Gathers and their scatter-add duals on the GPU, deterministic.

``xp.add.at`` (the NumPy backend's scatter for gather and pad gradients) becomes atomic
adds on a GPU, whose order — and so the float result — changes from run to run. Here a
scatter-add is a gather instead (csrc/segment.cu): the gather gradient sorts the indices
(stably, on the device) and one thread sums each run of equal indices in ascending
position order; the pad gradient's copy pattern is known per shape, so the padded
positions each entry was copied to are listed once on the host. Both add in NumPy's
add.at order: the results equal the NumPy backend's bit for bit, on every run.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from graphflow.ops import indexing as ix
from graphflow.ops import joining as jn
from graphflow.utils import checks

from .. import device
from ..source import static_kernel
from ..table import KERNELS
from ._register import float_kernel, prod

SEGMENT_SUM = static_kernel("segment.cu", "gf_segment_sum")
UNPAD = static_kernel("segment.cu", "gf_unpad")


@KERNELS.register(ix.Gather, writes_out=True)
def gather(op, node, xp):
    """``take`` wraps out-of-range indices on a GPU; they are reported (after the call's
    last kernel, without a sync here) as the NumPy backend reports them."""
    axis, where = op.axis, node.where()

    def run(x, indices, out=None):
        dim = x.shape[axis]
        if indices.size:
            flat = indices.reshape(-1)
            bad = (flat < -dim) | (flat >= dim)
            checks.defer(xp.any(bad), f"take: index {{}} is out of bounds for axis {axis} with size {dim} ({where})",
                         detail=flat[xp.argmax(bad)], error=IndexError)
        return xp.take(x, indices, axis=axis) if out is None else xp.take(x, indices, axis=axis, out=out)
    return run


@float_kernel(ix.GatherGrad, writes_out=True)
def gather_grad(op, node, xp):
    axis = op.axis

    def run(g, indices, like, out=None):
        dim = like.shape[axis]
        outer, inner, k = prod(like.shape[:axis]), prod(like.shape[axis + 1:]), indices.size
        result = out if out is not None else xp.empty(like.shape, g.dtype)
        result[...] = 0
        if not (k and outer and inner):
            return result
        keys = indices.reshape(-1).astype(np.int64)
        keys = xp.where(keys < 0, keys + dim, keys)
        order = xp.argsort(keys * k + xp.arange(k, dtype=np.int64))   # distinct keys: any sort is stable
        ordered = keys[order]
        index = device.index_type(outer * k * inner, outer * dim * inner)
        fn = device.static(SEGMENT_SUM, g.dtype, index)
        device.each(fn, outer * k * inner, index, xp.ascontiguousarray(g), order, ordered, result,
                    *device.scalars(index, k, inner, dim))
        return result
    return run


@lru_cache(maxsize=256)
def copied_from(mode: str, n: int, lo: int, hi: int) -> tuple:
    """For a length-``n`` axis padded by (lo, hi) in ``mode``: (offsets, positions) such
    that positions[offsets[j]:offsets[j+1]] are the padded positions holding entry j."""
    source = np.pad(np.arange(n), (lo, hi), mode=mode)
    order = np.argsort(source, kind="stable")
    offsets = np.searchsorted(source[order], np.arange(n + 1))
    return offsets.astype(np.int64), order.astype(np.int64)


@float_kernel(jn.PadGrad)
def pad_grad(op, node, xp):
    tables: dict = {}   # (axis, n) -> the device copies of copied_from(...)

    def run(g, out=None):
        for axis, (lo, hi) in enumerate(op.paddings):
            if not (lo or hi):
                continue
            m = g.shape[axis]
            n = m - lo - hi
            key = (axis, n)
            if key not in tables:
                tables[key] = tuple(xp.asarray(a) for a in copied_from(op.mode, n, lo, hi))
            offsets, positions = tables[key]
            outer, inner = prod(g.shape[:axis]), prod(g.shape[axis + 1:])
            folded = xp.empty(g.shape[:axis] + (n,) + g.shape[axis + 1:], g.dtype)
            index = device.index_type(g.size)
            fn = device.static(UNPAD, g.dtype, index)
            device.each(fn, outer * n * inner, index, xp.ascontiguousarray(g), offsets, positions, folded,
                        *device.scalars(index, n, m, inner))
            g = folded
        return g
    return run
