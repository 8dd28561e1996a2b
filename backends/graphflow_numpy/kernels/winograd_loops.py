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
    if output (i, j) of the tile reads a non-zero input value, else 0.

    Neighbouring tiles share two columns, so the pass down the columns (over the tile
    row's 6 input rows) runs once per column of the tile row (``T``, with each pixel's
    non-zero flag) and the pass along the rows makes V from it: the same operations on
    the same values as a tile-by-tile transform, so V is the same bit for bit."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    c2, c4, c5, z = k[0], k[1], k[2], k[4]
    WP = tw * 4 + 2                   # columns the tile row reads, padding included
    T = np.empty((6, WP, C), x.dtype)  # after the column pass: T[xi, column, c]
    nzp = np.zeros((6, WP), np.bool_)  # pixel (row i of the tile row, column) not all 0
    zrow = np.zeros((W, C), x.dtype)   # a row of padding
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            r0 = ti * 4 - pt
            R0 = x[n, r0] if 0 <= r0 < H else zrow
            R1 = x[n, r0 + 1] if 0 <= r0 + 1 < H else zrow
            R2 = x[n, r0 + 2] if 0 <= r0 + 2 < H else zrow
            R3 = x[n, r0 + 3] if 0 <= r0 + 3 < H else zrow
            R4 = x[n, r0 + 4] if 0 <= r0 + 4 < H else zrow
            R5 = x[n, r0 + 5] if 0 <= r0 + 5 < H else zrow
            for cc in range(WP):
                c = cc - pl
                if 0 <= c < W:
                    f0 = f1 = f2 = f3 = f4 = f5 = False
                    for q in range(C):
                        d0, d1, d2, d3, d4, d5 = R0[c, q], R1[c, q], R2[c, q], R3[c, q], R4[c, q], R5[c, q]
                        f0 |= d0 != z  # NaN and inf count as non-zero, -0.0 as zero
                        f1 |= d1 != z
                        f2 |= d2 != z
                        f3 |= d3 != z
                        f4 |= d4 != z
                        f5 |= d5 != z
                        T[0, cc, q] = c4 * d0 - c5 * d2 + d4
                        T[1, cc, q] = d3 + d4 - c4 * (d1 + d2)
                        T[2, cc, q] = c4 * (d1 - d2) - d3 + d4
                        T[3, cc, q] = c2 * (d3 - d1) - d2 + d4
                        T[4, cc, q] = c2 * (d1 - d3) - d2 + d4
                        T[5, cc, q] = c4 * d1 - c5 * d3 + d5
                    nzp[0, cc], nzp[1, cc], nzp[2, cc] = f0, f1, f2
                    nzp[3, cc], nzp[4, cc], nzp[5, cc] = f3, f4, f5
                else:
                    for i in range(6):
                        for q in range(C):
                            T[i, cc, q] = z
                        nzp[i, cc] = False
            p = ((n - n0) * (ti1 - ti0) + ti - ti0) * tw
            for tj in range(tw):
                c0 = tj * 4
                if exact:  # each of the 16 outputs reads a 3x3 window of the tile
                    for o in range(16):
                        hit = False
                        for w in range(9):
                            hit = hit or nzp[o // 4 + w // 3, c0 + o % 4 + w % 3]
                        live[p, o] = hit
                for xi in range(6):
                    a = xi * 6
                    for q in range(C):
                        d0, d1, d2 = T[xi, c0, q], T[xi, c0 + 1, q], T[xi, c0 + 2, q]
                        d3, d4, d5 = T[xi, c0 + 3, q], T[xi, c0 + 4, q], T[xi, c0 + 5, q]
                        V[a, p, q] = c4 * d0 - c5 * d2 + d4
                        V[a + 1, p, q] = d3 + d4 - c4 * (d1 + d2)
                        V[a + 2, p, q] = c4 * (d1 - d2) - d3 + d4
                        V[a + 3, p, q] = c2 * (d3 - d1) - d2 + d4
                        V[a + 4, p, q] = c2 * (d1 - d3) - d2 + d4
                        V[a + 5, p, q] = c4 * d1 - c5 * d3 + d5
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
