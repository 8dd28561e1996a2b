"""Loops of the F(4x4, 3x3) Winograd convolution, plain Python that ``jit.loops`` compiles
with numba (NumPy arrays only; ``conv_winograd`` has the math and the ``xp`` path,
``winograd2_loops`` the same loops for F(2x2, 3x3)).

Each loop handles one work unit: images ``n0:n1``, tile rows ``ti0:ti1``, all ``tw``
tile columns, tile ``p`` numbered row-major over (image, tile row, tile column). Arrays
are channels-last and C-contiguous, so the innermost loop runs over contiguous channels
and vectorises. A tile is gathered into a small buffer (zeros outside the array: no
padded copy of the input), then transformed one axis at a time: every 1-D transform is
a handful of adds on whole channel vectors, written once per loop (``s`` < 6: down the
columns; ``s`` >= 6: along the rows of the result).

``k`` holds 2, 4, 5, 8 and 0 in the arrays' own dtype, so float32 work stays float32
(an integer literal would promote it to float64).

Exact zeros: F(4x4)'s transforms (entries 4, 5, 8, 1/6, 1/24) turn an output whose whole
3x3 x C receptive field is zero into +-1e-6 when other pixels of its 6x6 tile are not
zero, which flips ReLU and max-pool decisions. So ``input_tiles`` also writes ``live``:
for each of a tile's 16 outputs, whether any input value in its receptive field is
non-zero (padding is zero), found while the tile is gathered; ``output_tiles`` writes
an exact 0 where it is not. With ``exact`` False both skip that (the opt-in fast mode).
"""
from __future__ import annotations

import numpy as np


def input_tiles(x, pt, pl, n0, n1, ti0, ti1, tw, k, V, exact, live):
    """V[xi * 6 + nu, p, c] = (B^T d_p B)[xi, nu] for the 6x6 input tile d_p of channel c
    whose top-left is (ti * 4 - pt, tj * 4 - pl); when ``exact``, live[p, i * 4 + j] = 1
    if output (i, j) of the tile reads a non-zero input value, else 0."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    c2, c4, c5, z = k[0], k[1], k[2], k[4]
    buf = np.empty((2, 36, C), x.dtype)  # [0]: the tile (i * 6 + j); [1]: after the column pass
    nz = np.zeros(36, np.bool_)          # pixel e of the tile holds a non-zero value
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            for tj in range(tw):
                r0, c0 = ti * 4 - pt, tj * 4 - pl
                for e in range(36):
                    r, c = r0 + e // 6, c0 + e % 6
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
                if exact:  # each of the 16 outputs reads a 3x3 window of the tile
                    for o in range(16):
                        hit = False
                        for w in range(9):
                            hit = hit or nz[(o // 4 + w // 3) * 6 + o % 4 + w % 3]
                        live[p, o] = hit
                for s in range(12):
                    src, a, step = (buf[0], s, 6) if s < 6 else (buf[1], (s - 6) * 6, 1)
                    for q in range(C):
                        d0, d1, d2 = src[a, q], src[a + step, q], src[a + 2 * step, q]
                        d3, d4, d5 = src[a + 3 * step, q], src[a + 4 * step, q], src[a + 5 * step, q]
                        e0 = c4 * d0 - c5 * d2 + d4
                        e1 = d3 + d4 - c4 * (d1 + d2)
                        e2 = c4 * (d1 - d2) - d3 + d4
                        e3 = c2 * (d3 - d1) - d2 + d4
                        e4 = c2 * (d1 - d3) - d2 + d4
                        e5 = c4 * d1 - c5 * d3 + d5
                        if s < 6:
                            buf[1, s, q], buf[1, 6 + s, q], buf[1, 12 + s, q] = e0, e1, e2
                            buf[1, 18 + s, q], buf[1, 24 + s, q], buf[1, 30 + s, q] = e3, e4, e5
                        else:
                            V[a, p, q], V[a + 1, p, q], V[a + 2, p, q] = e0, e1, e2
                            V[a + 3, p, q], V[a + 4, p, q], V[a + 5, p, q] = e3, e4, e5
                p += 1


def output_tiles(M, n0, n1, ti0, ti1, tw, k, y, exact, live):
    """y[n, ti*4 + i, tj*4 + j, :] = (A^T M_p A)[i, j] for every tile p, clipped at y's edge;
    when ``exact``, an exact 0 where live[p, i * 4 + j] is 0."""
    OH, OW, K = y.shape[1], y.shape[2], y.shape[3]
    c2, c4, c8 = k[0], k[1], k[3]
    t = np.empty((24, K), y.dtype)    # after the column pass (i * 6 + nu)
    out = np.empty((16, K), y.dtype)  # the 4x4 result (i * 4 + j)
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            for tj in range(tw):
                for s in range(10):
                    if s < 6:  # column nu = s of M_p
                        for q in range(K):
                            m0, m1, m2 = M[s, p, q], M[6 + s, p, q], M[12 + s, p, q]
                            m3, m4, m5 = M[18 + s, p, q], M[24 + s, p, q], M[30 + s, p, q]
                            a, b, c, d = m1 + m2, m1 - m2, m3 + m4, m3 - m4
                            t[s, q], t[6 + s, q] = m0 + a + c, b + c2 * d
                            t[12 + s, q], t[18 + s, q] = a + c4 * c, b + c8 * d + m5
                    else:  # row i = s - 6 of the column-transformed tile
                        i = (s - 6) * 6
                        o = (s - 6) * 4
                        for q in range(K):
                            m0, m1, m2 = t[i, q], t[i + 1, q], t[i + 2, q]
                            m3, m4, m5 = t[i + 3, q], t[i + 4, q], t[i + 5, q]
                            a, b, c, d = m1 + m2, m1 - m2, m3 + m4, m3 - m4
                            out[o, q], out[o + 1, q] = m0 + a + c, b + c2 * d
                            out[o + 2, q], out[o + 3, q] = a + c4 * c, b + c8 * d + m5
                r0, c0 = ti * 4, tj * 4
                for i in range(min(4, OH - r0)):
                    for j in range(min(4, OW - c0)):
                        if exact and not live[p, i * 4 + j]:
                            for q in range(K):
                                y[n, r0 + i, c0 + j, q] = 0
                        else:
                            for q in range(K):
                                y[n, r0 + i, c0 + j, q] = out[i * 4 + j, q]
                p += 1


def gradient_tiles(dy, n0, n1, ti0, ti1, tw, k, W):
    """W[xi * 6 + nu, p, :] = (A dy_p A^T)[xi, nu] for the 4x4 output-gradient tile dy_p at
    (ti * 4, tj * 4), zeros past dy's edge (the filter gradient's "data" transform)."""
    OH, OW, K = dy.shape[1], dy.shape[2], dy.shape[3]
    c2, c4, c8, z = k[0], k[1], k[3], k[4]
    buf = np.empty((2, 24, K), dy.dtype)  # [0]: the tile (a * 4 + b); [1]: after the column pass
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            for tj in range(tw):
                r0, c0 = ti * 4, tj * 4
                for e in range(16):
                    r, c = r0 + e // 4, c0 + e % 4
                    if r < OH and c < OW:
                        for q in range(K):
                            buf[0, e, q] = dy[n, r, c, q]
                    else:
                        for q in range(K):
                            buf[0, e, q] = z
                for s in range(10):
                    src, a, step = (buf[0], s, 4) if s < 4 else (buf[1], (s - 4) * 4, 1)
                    for q in range(K):
                        d0, d1, d2, d3 = src[a, q], src[a + step, q], src[a + 2 * step, q], src[a + 3 * step, q]
                        e, o = d0 + d2, d1 + d3
                        e4, o2 = d0 + c4 * d2, c2 * d1 + c8 * d3
                        if s < 4:  # column b = s: 4 values -> 6 rows
                            buf[1, s, q], buf[1, 4 + s, q], buf[1, 8 + s, q] = d0, e + o, e - o
                            buf[1, 12 + s, q], buf[1, 16 + s, q], buf[1, 20 + s, q] = e4 + o2, e4 - o2, d3
                        else:  # row xi = s - 4: 4 values -> 6 columns
                            v = (s - 4) * 6
                            W[v, p, q], W[v + 1, p, q], W[v + 2, p, q] = d0, e + o, e - o
                            W[v + 3, p, q], W[v + 4, p, q], W[v + 5, p, q] = e4 + o2, e4 - o2, d3
                p += 1
