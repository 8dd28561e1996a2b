"""Convolution as GEMM over cache-sized work units (any stride, padding, dilation).

A unit is a few images, or a band of output rows of one image, whose column matrix
(one row per output pixel, ``kh*kw*c`` columns in kernel order) fits in ``BUDGET`` bytes
of scratch: it is filled by one strided copy per kernel tap, straight from the input
(padding cells are zeroed in the columns, the input is never copied into a padded
array), and multiplied by the kernel straight into the unit's rows of the output.
Units are split over the cores (``_parallel``). Everything here is written against
``xp``, channels-last, on C-contiguous arrays.

- forward: ``y[unit] = cols(x[unit]) @ k``;
- filter gradient: ``dk = sum over units of cols(x[unit])^T @ dy[unit]``, one partial
  sum per thread, added in a fixed order;
- input gradient of a strided convolution: ``dcols = dy[unit] @ k^T`` and a col2im
  accumulation into dx (a stride-1 one is a forward convolution, see ``nn_conv``).
"""
from __future__ import annotations

from .. import jit
from . import im2col_loops
from ._parallel import GemmSum, run_parts, sum_parts, thread_count, threads_for
from ._scratch import scratch, work_units
from .conv_geometry import ConvGeometry

#: scratch bytes per unit: about half of a core's L2 here, so the columns are still in
#: cache when the GEMM reads them (measured in docs/performance.md)
BUDGET = 1 << 20


def is_pointwise(g: ConvGeometry) -> bool:
    """1x1, stride 1, no padding: the input itself is the column matrix."""
    return (g.kh, g.kw) == (1, 1) and g.strides == (1, 1) and not any(g.pads)


def _row_bytes(g: ConvGeometry, itemsize: int) -> int:
    return g.ow * g.kh * g.kw * g.c * itemsize


def units(g: ConvGeometry, itemsize: int) -> list:
    return work_units(g.n, g.oh, _row_bytes(g, itemsize), BUDGET, thread_count())


def scratch_bytes(g: ConvGeometry, itemsize: int) -> int:
    """Bytes of scratch the forward / filter-gradient pass holds at once (all threads)."""
    if is_pointwise(g):
        return 0
    us = units(g, itemsize)
    biggest = max(((n1 - n0) * (r1 - r0) for n0, n1, r0, r1 in us), default=0)
    return biggest * _row_bytes(g, itemsize) * min(len(us), thread_count())


def fill_columns(xp, x, g: ConvGeometry, unit, cols, cpu: bool = False) -> None:
    """cols[(n, i, j), (a, b, c)] = x[n, i*sh + a*dh - top, j*sw + b*dw - left, c] for the
    unit's images and output rows, zero where that cell is padding (``cpu``: host
    arrays, filled by a numba loop)."""
    n0, n1, r0, r1 = unit
    lp = jit.loops(im2col_loops) if cpu else None
    if lp is not None:
        (sh, sw), (dh, dw) = g.strides, g.dilation
        lp.fill_columns(x, g.pads[0], g.pads[2], sh, sw, dh, dw, g.kh, g.kw, n0, n1, r0, r1, g.ow, cols)
        return
    c6 = cols.reshape(n1 - n0, r1 - r0, g.ow, g.kh, g.kw, g.c)
    for a in range(g.kh):
        i0, i1 = g.valid_range(a, 0, r0, r1)
        for b in range(g.kw):
            j0, j1 = g.valid_range(b, 1, 0, g.ow)
            dst = c6[:, :, :, a, b, :]
            if i1 > i0 and j1 > j0:
                dst[:, i0 - r0:i1 - r0, j0:j1, :] = x[n0:n1, g.source(a, 0, i0, i1), g.source(b, 1, j0, j1), :]
            _zero_outside(dst, i0 - r0, i1 - r0, j0, j1)


def _zero_outside(dst, i0, i1, j0, j1):
    if i1 <= i0 or j1 <= j0:
        dst[...] = 0
        return
    dst[:, :i0] = 0
    dst[:, i1:] = 0
    dst[:, i0:i1, :j0] = 0
    dst[:, i0:i1, j1:] = 0


def _rows(t2, g: ConvGeometry, unit):
    """The unit's rows of a (n*oh*ow, ...) matrix (a view: units are contiguous there)."""
    n0, n1, r0, r1 = unit
    return t2[(n0 * g.oh + r0) * g.ow:((n1 - 1) * g.oh + r1) * g.ow]


def forward(xp, x, k, g: ConvGeometry, y, epilogue=None, cpu: bool = False):
    """y (n, oh, ow, o), C-contiguous, = x (n, h, w, c) correlated with k (kh, kw, c, o);
    ``epilogue(y, (images, rows))`` runs on each block of y as soon as it is written.
    ``cpu``: host arrays (numba column fills, units over the cores)."""
    k2 = k.reshape(-1, g.o)
    y2 = y.reshape(-1, g.o)
    if is_pointwise(g):
        xp.matmul(x.reshape(-1, g.c), k2, out=y2)
        if epilogue is not None:
            epilogue(y, (slice(0, g.n), slice(0, g.oh)))
        return y
    us = units(g, x.dtype.itemsize)

    def part(lo, hi):
        for unit in us[lo:hi]:
            n0, n1, r0, r1 = unit
            cols = scratch(xp, "cols", ((n1 - n0) * (r1 - r0) * g.ow, g.kh * g.kw * g.c), x.dtype)
            fill_columns(xp, x, g, unit, cols, cpu)
            xp.matmul(cols, k2, out=_rows(y2, g, unit))
            if epilogue is not None:
                epilogue(y, (slice(n0, n1), slice(r0, r1)))
    run_parts(part, len(us), threads_for(cpu))
    return y


def backprop_filter(xp, x, dy, g: ConvGeometry, cpu: bool = False):
    """dk (kh, kw, c, o) = sum over output pixels of columns^T @ dy."""
    dy2 = dy.reshape(-1, g.o)
    if is_pointwise(g):
        return xp.matmul(x.reshape(-1, g.c).T, dy2).reshape(g.kernel_shape)
    us = units(g, x.dtype.itemsize)

    def part(lo, hi):
        acc = GemmSum(xp)
        for unit in us[lo:hi]:
            n0, n1, r0, r1 = unit
            cols = scratch(xp, "cols", ((n1 - n0) * (r1 - r0) * g.ow, g.kh * g.kw * g.c), x.dtype)
            fill_columns(xp, x, g, unit, cols, cpu)
            acc.add(cols.T, _rows(dy2, g, unit))
        return acc.total
    total = sum_parts(part, len(us), threads_for(cpu))
    return total.reshape(g.kernel_shape)


def _image_units(g: ConvGeometry, itemsize: int) -> list:
    """Units of whole images for col2im (bands of rows would add into shared dx rows)."""
    return work_units(g.n, 1, g.oh * g.ow * g.kh * g.kw * g.c * itemsize, BUDGET, thread_count())


def backprop_input_scratch_bytes(g: ConvGeometry, itemsize: int) -> int:
    """Bytes of scratch one strided input-gradient call holds at once (all threads)."""
    us = _image_units(g, itemsize)
    biggest = max((n1 - n0 for n0, n1, _, _ in us), default=0)
    return biggest * g.oh * g.ow * g.kh * g.kw * g.c * itemsize * min(len(us), thread_count())


def backprop_input(xp, dy, k, g: ConvGeometry, dx, cpu: bool = False):
    """dx (n, h, w, c), C-contiguous, = the adjoint of ``forward`` applied to dy: per unit
    of whole images, dcols = dy @ k^T, then each tap's block added where it was read."""
    k2t = k.reshape(-1, g.o).T
    dy2 = dy.reshape(-1, g.o)
    us = _image_units(g, dy.dtype.itemsize)

    def part(lo, hi):
        for n0, n1, _, _ in us[lo:hi]:
            unit = (n0, n1, 0, g.oh)
            dcols = scratch(xp, "cols", ((n1 - n0) * g.oh * g.ow, g.kh * g.kw * g.c), dy.dtype)
            xp.matmul(_rows(dy2, g, unit), k2t, out=dcols)
            c6 = dcols.reshape(n1 - n0, g.oh, g.ow, g.kh, g.kw, g.c)
            block = dx[n0:n1]
            block[...] = 0
            for a in range(g.kh):
                i0, i1 = g.valid_range(a, 0, 0, g.oh)
                for b in range(g.kw):
                    j0, j1 = g.valid_range(b, 1, 0, g.ow)
                    if i1 > i0 and j1 > j0:
                        block[:, g.source(a, 0, i0, i1), g.source(b, 1, j0, j1), :] += c6[:, i0:i1, j0:j1, a, b, :]
    run_parts(part, len(us), threads_for(cpu))
    return dx
