"""Pooling kernels: a loop over the pool_h*pool_w window offsets, each one strided slice
of the whole batch (any stride, any padding), in either data format without transposes.

(A reshape to (n, oh, ph, ow, pw, c) and a max over two axes reads more naturally for
tiling windows, but measured 3x slower for NHWC and 30x slower for NCHW than this loop.)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from graphflow.ops.nn import pool
from graphflow.ops.nn._geometry import output_length, padding_of, spatial_axes, window_slice

from ..table import KERNELS
from ._out import deliver


@dataclass(frozen=True)
class Geometry:
    """One (pool op, input shape) pair: output size, padding, where the windows are."""
    axes: tuple       # spatial axes (rows, cols)
    size: tuple       # (h, w)
    out: tuple        # (oh, ow)
    pad: tuple        # (top, bottom, left, right)
    pool: tuple
    strides: tuple
    padded_shape: tuple
    out_shape: tuple

    @property
    def padded(self) -> bool:
        return any(self.pad)

    @property
    def tiling(self) -> bool:
        """Windows never overlap and there is no padding: gradients can be assigned."""
        return not self.padded and self.pool == self.strides

    def index(self, rows, cols) -> tuple:
        idx = [slice(None)] * 4
        idx[self.axes[0]], idx[self.axes[1]] = rows, cols
        return tuple(idx)

    def offsets(self):
        """The index of each window offset (scan order: row-major) into the padded input."""
        (ph, pw), (sh, sw), (oh, ow) = self.pool, self.strides, self.out
        for i in range(ph):
            for j in range(pw):
                yield self.index(window_slice(i, oh, sh), window_slice(j, ow, sw))

    def interior(self) -> tuple:
        """The index of the real input inside the padded one."""
        t, _, l, _ = self.pad
        (h, w) = self.size
        return self.index(slice(t, t + h), slice(l, l + w))

    def counts(self):
        """How many real cells each window covers, shaped to broadcast against the output."""
        per_axis = []
        for n, o, k, s, before in zip(self.size, self.out, self.pool, self.strides, self.pad[::2]):
            start = np.arange(o) * s - before
            per_axis.append(np.minimum(start + k, n) - np.maximum(start, 0))
        c = np.outer(*per_axis)
        return c[:, :, None] if self.axes == (1, 2) else c


@lru_cache(maxsize=512)
def geometry(op, shape) -> Geometry:
    axes = spatial_axes(op.data_format)
    size = tuple(shape[a] for a in axes)
    out = tuple(output_length(n, k, s, op.padding) for n, k, s in zip(size, op.pool_size, op.strides))
    pad = padding_of(size[0], op.pool_size[0], op.strides[0], op.padding) + \
        padding_of(size[1], op.pool_size[1], op.strides[1], op.padding)
    padded, out_shape = list(shape), list(shape)
    for a, n, extra, o in zip(axes, size, (pad[0] + pad[1], pad[2] + pad[3]), out):
        padded[a], out_shape[a] = n + extra, o
    return Geometry(axes, size, out, pad, op.pool_size, op.strides, tuple(padded), tuple(out_shape))


def geometry_at(node, shape) -> Geometry:
    """``geometry``, naming the node on a shape error that only shows at run time."""
    try:
        return geometry(node.op, shape)
    except ValueError as exc:
        raise ValueError(f"{node.where()}: {exc}") from None


def pad_with(xp, x, g: Geometry, fill):
    if not g.padded:
        return x
    buf = xp.full(g.padded_shape, fill, x.dtype)
    buf[g.interior()] = x
    return buf



@KERNELS.register(pool.MaxPool2D)
def max_pool2d(op, node, xp):
    def run(x, out=None):
        g = geometry_at(node, x.shape)
        xpad = pad_with(xp, x, g, -xp.inf)
        windows = g.offsets()
        y = xp.array(xpad[next(windows)], copy=True) if out is None else deliver(xpad[next(windows)], out)
        for idx in windows:
            xp.maximum(y, xpad[idx], out=y)
        return y
    return run


def _winners(xp, x, y, g: Geometry):
    """(offset index, mask of windows whose max this offset holds) in scan order; a
    window is claimed by its first winning offset only, which settles ties."""
    xpad = pad_with(xp, x, g, -xp.inf)
    taken = None
    for idx in g.offsets():
        hit = xpad[idx] == y
        if taken is None:
            taken = hit.copy()
        else:
            xp.logical_and(hit, xp.logical_not(taken), out=hit)
            xp.logical_or(taken, hit, out=taken)
        yield idx, hit


@KERNELS.register(pool.MaxPool2DGrad)
def max_pool2d_grad(op, node, xp):
    def run(x, y, dy, out=None):
        g = geometry_at(node, x.shape)
        dx = xp.zeros(g.padded_shape, dy.dtype)
        zero = xp.zeros((), dy.dtype)
        for idx, hit in _winners(xp, x, y, g):
            if g.tiling:
                dx[idx] = xp.where(hit, dy, zero)
            else:
                dx[idx] += xp.where(hit, dy, zero)
        return deliver(dx[g.interior()] if g.padded else dx, out)
    return run


@KERNELS.register(pool.MaxPool2DGradGrad)
def max_pool2d_grad_grad(op, node, xp):
    def run(x, y, gx, out=None):
        g = geometry_at(node, x.shape)
        gpad = pad_with(xp, gx, g, 0)
        r = xp.zeros(g.out_shape, gx.dtype)
        zero = xp.zeros((), gx.dtype)
        for idx, hit in _winners(xp, x, y, g):
            r += xp.where(hit, gpad[idx], zero)
        return deliver(r, out)
    return run


@KERNELS.register(pool.AvgPool2D)
def avg_pool2d(op, node, xp):
    def run(x, out=None):
        g = geometry_at(node, x.shape)
        xpad = pad_with(xp, x, g, 0)
        windows = g.offsets()
        s = xp.array(xpad[next(windows)], copy=True)
        for idx in windows:
            s += xpad[idx]
        s /= xp.asarray(g.counts(), x.dtype)
        return deliver(s, out)
    return run


@KERNELS.register(pool.AvgPool2DGrad)
def avg_pool2d_grad(op, node, xp):
    def run(x, dy, out=None):
        g = geometry_at(node, x.shape)
        share = dy / xp.asarray(g.counts(), dy.dtype)
        dx = xp.zeros(g.padded_shape, dy.dtype)
        for idx in g.offsets():
            if g.tiling:
                dx[idx] = share
            else:
                dx[idx] += share
        return deliver(dx[g.interior()] if g.padded else dx, out)
    return run
