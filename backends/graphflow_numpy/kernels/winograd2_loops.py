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
    if output (i, j) of the tile reads a non-zero input value, else 0.

    Tiles overlap by two columns, so the row pass (B^T over the tile's 4 rows) is done
    once per column of the tile row (``T``) and shared by the two tiles that read it, with
    each pixel's non-zero flag; the column pass then makes V. The same operations in the
    same order as a tile-by-tile transform: bit for bit the same V."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    z = k[4]
    WP = tw * 2 + 2                            # columns the tile row reads, padding included
    T = np.empty((4, WP, C), x.dtype)          # after the row pass: T[xi, column, c]
    nzp = np.zeros((4, WP), np.bool_)          # pixel (row i of the tile row, column) not all 0
    zrow = np.zeros((W, C), x.dtype)           # a row of padding
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            r0 = ti * 2 - pt
            R0 = x[n, r0] if 0 <= r0 < H else zrow
            R1 = x[n, r0 + 1] if 0 <= r0 + 1 < H else zrow
            R2 = x[n, r0 + 2] if 0 <= r0 + 2 < H else zrow
            R3 = x[n, r0 + 3] if 0 <= r0 + 3 < H else zrow
            for cc in range(WP):
                c = cc - pl
                if 0 <= c < W:
                    f0 = f1 = f2 = f3 = False
                    for q in range(C):
                        d0, d1, d2, d3 = R0[c, q], R1[c, q], R2[c, q], R3[c, q]
                        f0 |= d0 != z  # NaN and inf count as non-zero, -0.0 as zero
                        f1 |= d1 != z
                        f2 |= d2 != z
                        f3 |= d3 != z
                        T[0, cc, q], T[1, cc, q], T[2, cc, q], T[3, cc, q] = d0 - d2, d1 + d2, d2 - d1, d1 - d3
                    nzp[0, cc], nzp[1, cc], nzp[2, cc], nzp[3, cc] = f0, f1, f2, f3
                else:
                    for q in range(C):
                        T[0, cc, q], T[1, cc, q], T[2, cc, q], T[3, cc, q] = z, z, z, z
                    nzp[0, cc], nzp[1, cc], nzp[2, cc], nzp[3, cc] = False, False, False, False
            for tj in range(tw):
                c0 = tj * 2
                if exact:  # each of the 4 outputs reads a 3x3 window of the tile
                    for o in range(4):
                        hit = False
                        for w in range(9):
                            hit = hit or nzp[o // 2 + w // 3, c0 + o % 2 + w % 3]
                        live[p, o] = hit
                for xi in range(4):
                    a = xi * 4
                    for q in range(C):
                        d0, d1, d2, d3 = T[xi, c0, q], T[xi, c0 + 1, q], T[xi, c0 + 2, q], T[xi, c0 + 3, q]
                        V[a, p, q], V[a + 1, p, q], V[a + 2, p, q], V[a + 3, p, q] = d0 - d2, d1 + d2, d2 - d1, d1 - d3
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
