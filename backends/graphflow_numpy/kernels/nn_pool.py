"""Pooling kernels, in either data format without transposes.

Max pooling records where each window's winner sits (MaxPool2D's second output), so its
gradient is a scatter of dy and its gradient's gradient a gather, with no search of the
windows again. With numba (NumPy only) each of the three is one pass over the data,
split over the cores by images (``pool_loops``); the ``xp`` path every backend shares is
a loop over the pool_h*pool_w window offsets, each one strided slice of the whole batch.
Average pooling's per-window cell counts are computed once per shape.

(A reshape to (n, oh, ph, ow, pw, c) and a max over two axes reads more naturally for
tiling windows, but measured 3x slower for NHWC and 30x slower for NCHW than this loop.)
"""
from __future__ import annotations

import functools

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from graphflow.ops.nn import pool
from graphflow.ops.nn._geometry import output_length, padding_of, spatial_axes, window_slice

from .. import jit
from ..table import CPU_KERNELS, KERNELS
from . import pool_loops
from ._out import deliver
from ._parallel import run_parts


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

    @cached_property
    def counts(self) -> np.ndarray:
        """How many real cells each window covers, shaped to broadcast against the output
        (host NumPy, computed once per geometry)."""
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


def _nhwc(t, g: Geometry):
    """A 4-D (n, h, w, c) view of a C-contiguous pooling operand: channels_first
    (n, c, h, w) is the same memory as (n * c, h, w, 1)."""
    if g.axes == (1, 2):
        return t
    n, c, h, w = t.shape
    return t.reshape(n * c, h, w, 1)


def _native(cpu, *arrays):
    """The numba loops when they can run on these arrays (``cpu``: the NumPy backend's
    host arrays; C-contiguous)."""
    if not cpu or not all(a.flags.c_contiguous for a in arrays):
        return None
    return jit.loops(pool_loops)


def _fresh(xp, out, shape, dtype):
    if out is not None and out.shape == shape and out.dtype == dtype and out.flags.c_contiguous:
        return out
    return xp.empty(shape, dtype)


def _scratch(cpu):
    """``KernelSpec.scratch_bytes`` of a pooling kernel (``cpu``: the NumPy backend's)."""
    def bytes_of(op, shapes, itemsize=4, xp=np):
        return scratch_bytes(op, shapes, itemsize, cpu)  # (defined below, after the kernels)
    return bytes_of


def max_pool2d(op, node, xp, cpu=False):
    index_dtype = op.index_dtype

    def run(x, out=None):
        g = geometry_at(node, x.shape)
        lp = _native(cpu, x)
        if lp is None:
            return _max_xp(xp, x, g, index_dtype)
        y = xp.empty(g.out_shape, x.dtype)
        idx = xp.empty(g.out_shape, index_dtype)
        x4, y4, i4 = _nhwc(x, g), _nhwc(y, g), _nhwc(idx, g)
        (ph, pw), (sh, sw) = g.pool, g.strides
        if g.tiling and g.pool == (2, 2):  # the common case, in its own vectorised loop
            run_parts(lambda a, b: lp.max_forward_2x2(x4, a, b, y4, i4), x4.shape[0], blas=False)
        else:
            run_parts(lambda a, b: lp.max_forward(x4, ph, pw, sh, sw, g.pad[0], g.pad[2], a, b, y4, i4),
                      x4.shape[0], blas=False)
        return y, idx
    return run


def _max_xp(xp, x, g: Geometry, index_dtype):
    """Window offsets in scan order; an offset takes a window over when strictly larger
    (or the first NaN), so ties stay with the first; y matches np.maximum."""
    xpad = pad_with(xp, x, g, -xp.inf)
    windows = g.offsets()
    y = xp.array(xpad[next(windows)], copy=True)
    idx = xp.zeros(g.out_shape, index_dtype)
    for k, w in enumerate(windows, start=1):
        v = xpad[w]
        better = xp.greater(v, y)
        better |= xp.isnan(v) & ~xp.isnan(y)
        xp.copyto(idx, xp.asarray(k, index_dtype), where=better)
        xp.copyto(y, v, where=better)
    return y, idx


def _over_x(op, position):
    """out may be x's own buffer: only x's shape is read."""
    return position == 0


def max_pool2d_grad(op, node, xp, cpu=False):
    def run(x, idx, dy, out=None):
        g = geometry_at(node, x.shape)
        lp = _native(cpu, idx, dy)
        if lp is None:
            return deliver(_scatter_xp(xp, idx, dy, g), out)
        dx = _fresh(xp, out, x.shape, dy.dtype)
        d4, i4, x4 = _nhwc(dy, g), _nhwc(idx, g), _nhwc(dx, g)
        (ph, pw), (sh, sw) = g.pool, g.strides
        zero = np.zeros(1, dy.dtype)
        run_parts(lambda a, b: lp.max_backward(d4, i4, ph, pw, sh, sw, g.pad[0], g.pad[2], g.tiling, a, b,
                                            zero, x4), x4.shape[0], blas=False)
        return dx
    return run


def _scatter_xp(xp, idx, dy, g: Geometry):
    dx = xp.zeros(g.padded_shape, dy.dtype)
    zero = xp.zeros((), dy.dtype)
    for k, w in enumerate(g.offsets()):
        hit = xp.where(idx == k, dy, zero)
        if g.tiling:
            dx[w] = hit
        else:
            dx[w] += hit
    return dx[g.interior()] if g.padded else dx


def max_pool2d_grad_grad(op, node, xp, cpu=False):
    def run(x, idx, gx, out=None):
        g = geometry_at(node, x.shape)
        lp = _native(cpu, idx, gx)
        if lp is None:
            return deliver(_gather_xp(xp, idx, gx, g), out)
        r = _fresh(xp, out, g.out_shape, gx.dtype)
        g4, i4, r4 = _nhwc(gx, g), _nhwc(idx, g), _nhwc(r, g)
        (_, pw), (sh, sw) = g.pool, g.strides
        run_parts(lambda a, b: lp.max_gather(g4, i4, pw, sh, sw, g.pad[0], g.pad[2], a, b, r4), r4.shape[0], blas=False)
        return r
    return run


def _gather_xp(xp, idx, gx, g: Geometry):
    gpad = pad_with(xp, gx, g, 0)
    r = xp.zeros(g.out_shape, gx.dtype)
    zero = xp.zeros((), gx.dtype)
    for k, w in enumerate(g.offsets()):
        r += xp.where(idx == k, gpad[w], zero)
    return r


def _counts(xp, memo: dict, g: Geometry, dtype):
    """Real cells per window, on the device, made once per (geometry, dtype); a scalar
    when every window is full."""
    key = (g, dtype)
    r = memo.get(key)
    if r is None:
        c = g.counts
        full = not g.padded and bool((c == c.flat[0]).all())
        r = memo[key] = xp.asarray(c.flat[0] if full else c, dtype)
    return r


@KERNELS.register(pool.AvgPool2D, scratch_bytes=_scratch(False))
def avg_pool2d(op, node, xp):
    memo: dict = {}

    def run(x, out=None):
        g = geometry_at(node, x.shape)
        xpad = pad_with(xp, x, g, 0)
        windows = g.offsets()
        s = xp.array(xpad[next(windows)], copy=True)
        for idx in windows:
            s += xpad[idx]
        s /= _counts(xp, memo, g, x.dtype)
        return deliver(s, out)
    return run


@KERNELS.register(pool.AvgPool2DGrad, scratch_bytes=_scratch(False))
def avg_pool2d_grad(op, node, xp):
    memo: dict = {}

    def run(x, dy, out=None):
        g = geometry_at(node, x.shape)
        share = dy / _counts(xp, memo, g, dy.dtype)
        dx = xp.zeros(g.padded_shape, dy.dtype)
        for idx in g.offsets():
            if g.tiling:
                dx[idx] = share
            else:
                dx[idx] += share
        return deliver(dx[g.interior()] if g.padded else dx, out)
    return run


def scratch_bytes(op, shapes, itemsize: int = 4, cpu: bool = True) -> int:
    """Bytes of scratch one call of the kernel of ``op`` (any pooling op) holds beyond its
    inputs and outputs, for input shapes ``shapes`` (x first): nothing on the numba path
    (``cpu``: the NumPy backend's kernels);
    on the xp path, a padded copy of the input when the windows reach into padding, plus
    one window-sized temporary."""
    if isinstance(op, (pool.MaxPool2D, pool.MaxPool2DGrad, pool.MaxPool2DGradGrad)) and \
            cpu and jit.available():
        return 0
    g = geometry(op, tuple(shapes[0]))
    size = lambda shape: int(np.prod(shape)) * itemsize
    return (size(g.padded_shape) if g.padded else 0) + size(g.out_shape)


# max pooling: the xp formulation in the portable table (CuPy inherits it for the dtypes
# its own kernels leave), the numba loops over the cores on the NumPy backend
for _op, _factory, _fact in ((pool.MaxPool2D, max_pool2d, {}),
                             (pool.MaxPool2DGrad, max_pool2d_grad, {"writes_out": True, "inplace": _over_x}),
                             (pool.MaxPool2DGradGrad, max_pool2d_grad_grad, {"writes_out": True})):
    KERNELS.register(_op, scratch_bytes=_scratch(False), **_fact)(_factory)
    CPU_KERNELS.register(_op, scratch_bytes=_scratch(True), **_fact)(functools.partial(_factory, cpu=True))
