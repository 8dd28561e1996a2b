"""Loops of the F(2x2, 3x3) Winograd convolution, plain Python that ``jit.loops`` compiles
with numba (NumPy arrays only), laid out as ``winograd_loops`` (F(4x4)) is: one work
unit per call, tile ``p`` row-major over (image, tile row, tile column), channels-last,
innermost loops over contiguous channels.

F(2x2)'s transforms are dyadic (entries 0, +-1 and, in G, 1/2), so its rounding is about
twice a direct sum's, against F(4x4)'s twenty times; it still restores the exact zero of
an output whose 3x3 x C receptive field is all zeros (``live``, as F(4x4) does): the
transforms mix the tile's other pixels into every output, so cancellation is not exact.

``k[4]`` is 0 in the arrays' dtype (the same constants array as F(4x4)'s).
"""
from __future__ import annotations

import numpy as np


def input_tiles(x, pt, pl, n0, n1, ti0, ti1, tw, k, V, exact, live):
    """V[xi * 4 + nu, p, c] = (B^T d_p B)[xi, nu] for the 4x4 input tile d_p of channel c
    whose top-left is (ti * 2 - pt, tj * 2 - pl); when ``exact``, live[p, i * 2 + j] = 1
    if output (i, j) of the tile reads a non-zero input value, else 0."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    z = k[4]
    buf = np.empty((2, 16, C), x.dtype)  # [0]: the tile (i * 4 + j); [1]: after the column pass
    nz = np.zeros(16, np.bool_)
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            for tj in range(tw):
                r0, c0 = ti * 2 - pt, tj * 2 - pl
                for e in range(16):
                    r, c = r0 + e // 4, c0 + e % 4
                    if 0 <= r < H and 0 <= c < W:
                        mag = z
                        for q in range(C):
                            v = x[n, r, c, q]
                            buf[0, e, q] = v
                            mag += abs(v)  # 0 only when every value is 0 (NaN, inf count)
                        nz[e] = mag != z
                    else:
                        for q in range(C):
                            buf[0, e, q] = z
                        nz[e] = False
                if exact:  # each of the 4 outputs reads a 3x3 window of the tile
                    for o in range(4):
                        hit = False
                        for w in range(9):
                            hit = hit or nz[(o // 2 + w // 3) * 4 + o % 2 + w % 3]
                        live[p, o] = hit
                for s in range(8):
                    src, a, step = (buf[0], s, 4) if s < 4 else (buf[1], (s - 4) * 4, 1)
                    for q in range(C):
                        d0, d1, d2, d3 = src[a, q], src[a + step, q], src[a + 2 * step, q], src[a + 3 * step, q]
                        e0, e1, e2, e3 = d0 - d2, d1 + d2, d2 - d1, d1 - d3
                        if s < 4:
                            buf[1, s, q], buf[1, 4 + s, q], buf[1, 8 + s, q], buf[1, 12 + s, q] = e0, e1, e2, e3
                        else:
                            V[a, p, q], V[a + 1, p, q], V[a + 2, p, q], V[a + 3, p, q] = e0, e1, e2, e3
                p += 1


def output_tiles(M, n0, n1, ti0, ti1, tw, k, y, exact, live):
    """y[n, ti*2 + i, tj*2 + j, :] = (A^T M_p A)[i, j] for every tile p, clipped at y's edge;
    when ``exact``, an exact 0 where live[p, i * 2 + j] is 0."""
    OH, OW, K = y.shape[1], y.shape[2], y.shape[3]
    t = np.empty((8, K), y.dtype)    # after the column pass (i * 4 + nu)
    out = np.empty((4, K), y.dtype)  # the 2x2 result (i * 2 + j)
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            for tj in range(tw):
                for nu in range(4):
                    for q in range(K):
                        m1, m2 = M[4 + nu, p, q], M[8 + nu, p, q]
                        t[nu, q] = M[nu, p, q] + m1 + m2
                        t[4 + nu, q] = m1 - m2 - M[12 + nu, p, q]
                for i in range(2):
                    for q in range(K):
                        m1, m2 = t[i * 4 + 1, q], t[i * 4 + 2, q]
                        out[i * 2, q] = t[i * 4, q] + m1 + m2
                        out[i * 2 + 1, q] = m1 - m2 - t[i * 4 + 3, q]
                r0, c0 = ti * 2, tj * 2
                for i in range(min(2, OH - r0)):
                    for j in range(min(2, OW - c0)):
                        if exact and not live[p, i * 2 + j]:
                            for q in range(K):
                                y[n, r0 + i, c0 + j, q] = 0
                        else:
                            for q in range(K):
                                y[n, r0 + i, c0 + j, q] = out[i * 2 + j, q]
                p += 1


def gradient_tiles(dy, n0, n1, ti0, ti1, tw, k, W):
    """W[xi * 4 + nu, p, :] = (A dy_p A^T)[xi, nu] for the 2x2 output-gradient tile dy_p at
    (ti * 2, tj * 2), zeros past dy's edge (the filter gradient's "data" transform)."""
    OH, OW, K = dy.shape[1], dy.shape[2], dy.shape[3]
    z = k[4]
    buf = np.empty((2, 8, K), dy.dtype)  # [0]: the tile (a * 2 + b); [1]: after the column pass (xi * 2 + b)
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            for tj in range(tw):
                r0, c0 = ti * 2, tj * 2
                for e in range(4):
                    r, c = r0 + e // 2, c0 + e % 2
                    if r < OH and c < OW:
                        for q in range(K):
                            buf[0, e, q] = dy[n, r, c, q]
                    else:
                        for q in range(K):
                            buf[0, e, q] = z
                for b in range(2):  # column b: 2 values -> 4 rows
                    for q in range(K):
                        d0, d1 = buf[0, b, q], buf[0, 2 + b, q]
                        buf[1, b, q], buf[1, 2 + b, q], buf[1, 4 + b, q], buf[1, 6 + b, q] = d0, d0 + d1, d0 - d1, -d1
                for xi in range(4):  # row xi: 2 values -> 4 columns
                    v = xi * 4
                    for q in range(K):
                        d0, d1 = buf[1, xi * 2, q], buf[1, xi * 2 + 1, q]
                        W[v, p, q], W[v + 1, p, q], W[v + 2, p, q], W[v + 3, p, q] = d0, d0 + d1, d0 - d1, -d1
                p += 1
