"""Winograd minimal filtering (Lavin & Gray 2016) for 3x3, stride-1, undilated convolutions.

F(m x m, 3 x 3) computes an m x m output tile from an a x a input tile (a = m + 2) with
a^2 multiplies instead of 9 m^2: per tile and channel, ``V = B^T d B``; per filter
``U = G g G^T``; then for each of the a^2 transform points one GEMM over channels,
``M[xi] = V[xi] @ U[xi]``, and ``y = A^T M A``. m = 2 (a = 4) saves 2.25x the
multiplies, m = 4 (a = 6) 4x at some float32 accuracy (docs/performance.md).

Backward, both gradients reuse the same matrices:
- the input gradient is a forward Winograd convolution of dy (``nn_conv`` flips the
  kernel and swaps its channel axes);
- the filter gradient: with ``W = A dy_t A^T`` the transform of an m x m tile of dy,
  ``dU[xi] = sum over tiles of V[xi]^T @ W[xi]`` (one GEMM per point, accumulated over
  all tiles) and ``dg = G^T dU G``.

Tile transforms run in numba loops (``winograd_loops`` for F(4x4), ``winograd2_loops``
for F(2x2)) on cache-sized work units split over the cores; without numba or on another
array library the same math runs as a few whole-batch ``xp`` tensor contractions.

Exact zeros: an output whose whole receptive field is zero is written as exactly 0 (its
true value) unless ``exact=False`` (``gf.set_conv_precision("winograd-fast")``): the
transforms spread every pixel of a tile over all its outputs, so without this they come
out as rounding residue (+-1e-6 with F(4x4)) and flip ReLU and max-pool decisions.
"""
from __future__ import annotations

import numpy as np

from .. import jit
from . import winograd2_loops, winograd_loops
from ._parallel import GemmSum, run_parts, sum_parts, thread_count, threads_for
from ._scratch import scratch, work_units
from .conv_geometry import ConvGeometry

# (B^T, G, A^T) per output tile size m; exact in binary floating point except G's thirds
MATRICES = {
    2: (np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64),
        np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], np.float64),
        np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)),
    4: (np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], np.float64),
        np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], np.float64),
        np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
                 np.float64)),
}
#: scratch bytes per work unit (V and M of the unit's tiles) ...
BUDGET = 1 << 20
#: ... but at least this many tiles per unit, so each of the a^2 GEMMs is long enough to
#: pay for reading its (c, o) block of U, which outgrows the cache for wide layers
MIN_TILES = 128


def tiles(g: ConvGeometry, m: int) -> tuple:
    """(tile rows, tile columns) covering the output."""
    return -(-g.oh // m), -(-g.ow // m)


def _units(g: ConvGeometry, m: int, width: int, itemsize: int) -> list:
    th, tw = tiles(g, m)
    per_tile = (m + 2) ** 2 * width * itemsize
    return work_units(g.n, th, per_tile * tw, max(BUDGET, MIN_TILES * per_tile), thread_count())


def scratch_bytes(g: ConvGeometry, m: int, itemsize: int) -> int:
    """Bytes of scratch one forward or filter-gradient call holds at once (all threads):
    V and M of the biggest unit, and (forward) one live flag per output of its tiles."""
    width = g.c + g.o
    us = _units(g, m, width, itemsize)
    th, tw = tiles(g, m)
    biggest = max(((n1 - n0) * (r1 - r0) for n0, n1, r0, r1 in us), default=0)
    per_tile = (m + 2) ** 2 * width * itemsize + m * m
    return biggest * tw * per_tile * min(len(us), thread_count())


def filter_transform(xp, k, m: int):
    """U (a^2, c, o) = G k G^T per (c, o): two small GEMMs in float64, rounded once."""
    _, G, _ = MATRICES[m]
    a, (_, _, c, o) = m + 2, k.shape
    G = xp.asarray(G)
    t = xp.matmul(G, k.reshape(3, 3 * c * o).astype(xp.float64)).reshape(a, 3, c * o)   # (xi, b, co)
    u = xp.matmul(G, t)                                                                 # (xi, nu, co)
    return u.reshape(a * a, c, o).astype(k.dtype)


def filter_untransform(xp, du, m: int, dtype):
    """dk (3, 3, c, o) = G^T dU G, from dU (a^2, c, o)."""
    _, G, _ = MATRICES[m]
    a, c, o = m + 2, du.shape[1], du.shape[2]
    Gt = xp.asarray(G.T.copy())
    t = xp.matmul(Gt, du.astype(xp.float64).reshape(a, a, c * o))                       # (xi, b, co)
    dk = xp.matmul(Gt, t.reshape(a, 3 * c * o)).reshape(3, 3, c, o)                    # (a, b, co)
    return dk.astype(dtype)


def _loops(cpu, m):
    """The numba tile loops of F(m x m, 3x3) for host arrays (``cpu``), or None for the xp path."""
    return jit.loops(winograd_loops if m == 4 else winograd2_loops) if cpu else None


_NO_LIVE = np.zeros((0, 16), np.bool_)  # the filter gradient needs no zero windows (any width)


def zero_windows_xp(xp, x, g: ConvGeometry):
    """(n, oh, ow) array, 1 where the 3x3 receptive field of the output (all channels,
    padding included) holds a non-zero value, 0 where it is all zeros; x's dtype."""
    nz = (x != 0).any(axis=-1)
    t, b, l, r = g.pads
    pad = xp.zeros((g.n, g.oh + 2, g.ow + 2), bool)
    rows, cols = min(g.h, g.oh + 2 - t), min(g.w, g.ow + 2 - l)
    pad[:, t:t + rows, l:l + cols] = nz[:, :rows, :cols]
    live = xp.zeros((g.n, g.oh, g.ow), bool)
    for a in range(3):
        for c in range(3):
            live |= pad[:, a:a + g.oh, c:c + g.ow]
    return live.astype(x.dtype)


def _consts(dtype):
    return np.array([2, 4, 5, 8, 0], dtype)


def forward(xp, x, k, g: ConvGeometry, y, m: int = 4, epilogue=None, exact: bool = True, cpu: bool = False):
    """y (n, oh, ow, o), C-contiguous, = x (n, h, w, c) correlated with the 3x3 kernel k;
    ``epilogue(y, (images, rows))`` runs on each block of y as soon as it is written.
    ``exact``: an output whose whole receptive field is zero is exactly 0 (as the sum it
    stands for is), not the transforms' rounding residue (module docstring). ``cpu``: host
    arrays (numba tile loops, units over the cores)."""
    u = filter_transform(xp, k, m)
    lp = _loops(cpu, m)
    if lp is None:
        y[...] = _output_xp(xp, xp.matmul(_input_xp(xp, x, g, m), u), g, m)
        if exact:
            xp.multiply(y, zero_windows_xp(xp, x, g)[..., None], out=y)
        if epilogue is not None:
            epilogue(y, (slice(0, g.n), slice(0, g.oh)))
        return y
    a2, tw = (m + 2) ** 2, tiles(g, m)[1]
    us = _units(g, m, g.c + g.o, x.dtype.itemsize)
    kc = _consts(x.dtype)

    def part(lo, hi):
        for n0, n1, t0, t1 in us[lo:hi]:
            p = (n1 - n0) * (t1 - t0) * tw
            v = scratch(xp, "wino_v", (a2, p, g.c), x.dtype)
            mo = scratch(xp, "wino_m", (a2, p, g.o), x.dtype)
            live = scratch(xp, "wino_live", (p, m * m), np.bool_)
            lp.input_tiles(x, g.pads[0], g.pads[2], n0, n1, t0, t1, tw, kc, v, exact, live)
            xp.matmul(v, u, out=mo)
            lp.output_tiles(mo, n0, n1, t0, t1, tw, kc, y, exact, live)
            if epilogue is not None:
                epilogue(y, (slice(n0, n1), slice(t0 * m, min(t1 * m, g.oh))))
    run_parts(part, len(us), threads_for(cpu))
    return y


def backprop_filter(xp, x, dy, g: ConvGeometry, m: int = 4, cpu: bool = False):
    """dk (3, 3, c, o) of the convolution ``g`` from its input x and output gradient dy."""
    lp = _loops(cpu, m)
    if lp is None:
        v, w = _input_xp(xp, x, g, m), _gradient_xp(xp, dy, g, m)
        return filter_untransform(xp, xp.matmul(xp.swapaxes(v, 1, 2), w), m, x.dtype)
    a2, tw = (m + 2) ** 2, tiles(g, m)[1]
    us = _units(g, m, g.c + g.o, x.dtype.itemsize)
    kc = _consts(x.dtype)

    def part(lo, hi):
        acc = GemmSum(xp)
        for n0, n1, t0, t1 in us[lo:hi]:
            p = (n1 - n0) * (t1 - t0) * tw
            v = scratch(xp, "wino_v", (a2, p, g.c), x.dtype)
            w = scratch(xp, "wino_m", (a2, p, g.o), x.dtype)
            lp.input_tiles(x, g.pads[0], g.pads[2], n0, n1, t0, t1, tw, kc, v, False, _NO_LIVE)
            lp.gradient_tiles(dy, n0, n1, t0, t1, tw, kc, w)
            acc.add(v.transpose(0, 2, 1), w)
        return acc.total
    total = sum_parts(part, len(us), threads_for(cpu))
    return filter_untransform(xp, total, m, x.dtype)


# ---------------------------------------------------------------- xp path (whole batch)
def _tile_views(xp, t, m, a, th, tw, top, left):
    """(a, a, n, th, tw, ch): element [i, j] of every tile whose top-left is
    (ti*m - top, tj*m - left), zeros outside ``t``."""
    n, h, w, ch = t.shape
    hp, wp = (th - 1) * m + a, (tw - 1) * m + a
    pad = xp.zeros((n, hp, wp, ch), t.dtype)
    rows, cols = min(h, hp - top), min(w, wp - left)
    pad[:, top:top + rows, left:left + cols, :] = t[:, :rows, :cols, :]
    return xp.stack([xp.stack([pad[:, i:i + (th - 1) * m + 1:m, j:j + (tw - 1) * m + 1:m, :]
                               for j in range(a)]) for i in range(a)])


def _two_sided(xp, left, d, right):
    """left @ d @ right^T over the two leading axes of d: (p, q, ...) -> (l, r, ...)."""
    t = xp.tensordot(xp.asarray(left), d, axes=([1], [0]))                  # (l, q, ...)
    t = xp.tensordot(xp.asarray(right), t, axes=([1], [1]))                 # (r, l, ...)
    return xp.swapaxes(t, 0, 1)


def _input_xp(xp, x, g: ConvGeometry, m):
    bt, _, _ = MATRICES[m]
    th, tw = tiles(g, m)
    d = _tile_views(xp, x, m, m + 2, th, tw, g.pads[0], g.pads[2])
    v = _two_sided(xp, bt.astype(x.dtype), d, bt.astype(x.dtype))
    return xp.ascontiguousarray(v.reshape((m + 2) ** 2, -1, g.c))


def _gradient_xp(xp, dy, g: ConvGeometry, m):
    _, _, at = MATRICES[m]
    th, tw = tiles(g, m)
    d = _tile_views(xp, dy, m, m, th, tw, 0, 0)
    w = _two_sided(xp, at.T.astype(dy.dtype), d, at.T.astype(dy.dtype))
    return xp.ascontiguousarray(w.reshape((m + 2) ** 2, -1, g.o))


def _output_xp(xp, mo, g: ConvGeometry, m):
    _, _, at = MATRICES[m]
    th, tw = tiles(g, m)
    a = m + 2
    t = _two_sided(xp, at.astype(mo.dtype), mo.reshape(a, a, g.n, th, tw, g.o), at.astype(mo.dtype))
    t = xp.transpose(t, (2, 3, 0, 4, 1, 5)).reshape(g.n, th * m, tw * m, g.o)
    return t[:, :g.oh, :g.ow, :]
