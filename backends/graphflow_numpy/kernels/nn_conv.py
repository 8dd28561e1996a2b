"""Convolution kernels: im2col + one large GEMM, in channels_last (NHWC) layout.

channels_first tensors are transposed to NHWC on the way in and back on the way out; the
kernel layout ``(kh, kw, in, out)`` is the same for both formats. The window copies are a
loop over the kh*kw kernel taps, each one strided slice of the whole batch, so every
Python-level step moves a large block and the arithmetic is BLAS's.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from graphflow.ops.nn import conv
from graphflow.ops.nn._geometry import output_length, padding_of, window_slice

from ..table import KERNELS
from ._out import deliver


@dataclass(frozen=True)
class Geometry:
    """Everything a conv kernel needs about one (input shape, kernel shape) pair, in NHWC."""
    n: int
    h: int
    w: int
    c: int
    kh: int
    kw: int
    o: int
    oh: int
    ow: int
    pad: tuple    # (top, bottom, left, right)
    strides: tuple
    dilation: tuple

    @property
    def padded(self) -> tuple:
        t, b, l, r = self.pad
        return (self.n, self.h + t + b, self.w + l + r, self.c)

    def taps(self):
        """(tap index, row slice, col slice) of each kernel tap in the padded input."""
        (sh, sw), (dh, dw) = self.strides, self.dilation
        for i in range(self.kh):
            for j in range(self.kw):
                yield i * self.kw + j, window_slice(i * dh, self.oh, sh), window_slice(j * dw, self.ow, sw)


@lru_cache(maxsize=512)
def geometry(op, x_shape, k_shape) -> Geometry:
    if op.data_format == "channels_first":
        n, c, h, w = x_shape
    else:
        n, h, w, c = x_shape
    kh, kw, k_in, o = k_shape
    if c != k_in:
        raise ValueError(f"input channels {c} != kernel input channels {k_in} (input shape {x_shape}, "
                         f"kernel shape {k_shape})")
    (sh, sw), (dh, dw) = op.strides, op.dilation
    oh = output_length(h, kh, sh, op.padding, dh, "input height")
    ow = output_length(w, kw, sw, op.padding, dw, "input width")
    pad = padding_of(h, kh, sh, op.padding, dh) + padding_of(w, kw, sw, op.padding, dw)
    return Geometry(n, h, w, c, kh, kw, o, oh, ow, pad, op.strides, op.dilation)


def geometry_at(node, x_shape, k_shape) -> Geometry:
    """``geometry``, with the node's place in the user's code on a shape error (shapes
    unknown when the graph was built can still be wrong when it runs)."""
    try:
        return geometry(node.op, x_shape, k_shape)
    except ValueError as exc:
        raise ValueError(f"{node.where()}: {exc}") from None


def to_nhwc(xp, t, data_format):
    if data_format == "channels_last":
        return t
    return xp.ascontiguousarray(xp.transpose(t, (0, 2, 3, 1)))


def from_nhwc(xp, t, data_format):
    if data_format == "channels_last":
        return t
    return xp.ascontiguousarray(xp.transpose(t, (0, 3, 1, 2)))



_scratch = threading.local()


def scratch(xp, slot: str, shape, dtype):
    """A work array that lives only inside one kernel call, reused across calls: a fresh
    multi-MB block per call costs more in page faults than the copy that fills it."""
    pool = _scratch.__dict__.setdefault(id(xp), {})
    count = 1
    for d in shape:
        count *= d
    nbytes = count * np.dtype(dtype).itemsize
    buf = pool.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = pool[slot] = xp.empty(nbytes, xp.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def pad_input(xp, x, g: Geometry):
    """x inside a zero border (a scratch array: callers use it and drop it)."""
    t, b, l, r = g.pad
    if not (t or b or l or r):
        return x
    buf = scratch(xp, "pad", g.padded, x.dtype)
    buf[...] = 0
    buf[:, t:t + g.h, l:l + g.w, :] = x
    return buf


def im2col(xp, x, g: Geometry):
    """(n*oh*ow, kh*kw*c) patches of the NHWC input, columns in kernel order (kh, kw, c);
    a scratch array, valid until the next im2col on this thread."""
    xpad = pad_input(xp, x, g)
    m = g.n * g.oh * g.ow
    if g.kh == g.kw == 1:
        picked = xpad[:, ::g.strides[0], ::g.strides[1], :][:, :g.oh, :g.ow, :]
        return xp.ascontiguousarray(picked).reshape(m, g.c)
    cols = scratch(xp, "cols", (g.n, g.oh, g.ow, g.kh, g.kw, g.c), x.dtype)
    for tap, rows, cs in g.taps():
        cols[:, :, :, tap // g.kw, tap % g.kw, :] = xpad[:, rows, cs, :]
    return cols.reshape(m, g.kh * g.kw * g.c)


@KERNELS.register(conv.Conv2D)
def conv2d(op, node, xp):
    def run(x, k, out=None):
        g = geometry_at(node, x.shape, k.shape)
        cols = im2col(xp, to_nhwc(xp, x, op.data_format), g)
        y = xp.matmul(cols, k.reshape(-1, g.o)).reshape(g.n, g.oh, g.ow, g.o)
        return deliver(from_nhwc(xp, y, op.data_format), out)
    return run


@KERNELS.register(conv.Conv2DBackpropFilter)
def conv2d_backprop_filter(op, node, xp):
    def run(x, k, dy, out=None):
        g = geometry_at(node, x.shape, k.shape)
        cols = im2col(xp, to_nhwc(xp, x, op.data_format), g)
        dy2 = to_nhwc(xp, dy, op.data_format).reshape(-1, g.o)
        return deliver(xp.matmul(cols.T, dy2).reshape(k.shape), out)
    return run


def input_gradient(xp, g: Geometry, k, dy, data_format):
    """d<conv2d(x, k), dy>/dx for an ``x`` of geometry ``g`` (also conv2d_transpose)."""
    dy2 = to_nhwc(xp, dy, data_format).reshape(-1, g.o)
    # per tap: (m, o) @ (o, c); a (m, c) block at a time keeps the scratch memory small
    k_t = xp.transpose(k.reshape(g.kh * g.kw, g.c, g.o), (0, 2, 1))
    dxp = xp.zeros(g.padded, dy2.dtype)
    part = scratch(xp, "cols", (dy2.shape[0], g.c), dy2.dtype)
    for tap, rows, cs in g.taps():
        xp.matmul(dy2, k_t[tap], out=part)
        dxp[:, rows, cs, :] += part.reshape(g.n, g.oh, g.ow, g.c)
    t, _, l, _ = g.pad
    return from_nhwc(xp, dxp[:, t:t + g.h, l:l + g.w, :], data_format)


@KERNELS.register(conv.Conv2DBackpropInput)
def conv2d_backprop_input(op, node, xp):
    def run(x, k, dy, out=None):
        g = geometry_at(node, x.shape, k.shape)
        return deliver(input_gradient(xp, g, k, dy, op.data_format), out)
    return run
