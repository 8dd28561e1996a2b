"""numba loops of the Winograd convolution (NumPy only; see ``conv_winograd`` for the math).

Each loop handles one work unit: images ``n0:n1``, tile rows ``ti0:ti1``, all ``tw``
tile columns, tile ``p`` numbered row-major over (image, tile row, tile column). Arrays
are channels-last and C-contiguous, so the innermost loop runs over contiguous channels
and vectorises. A tile is gathered into a small buffer first (zeros outside the array:
no padded copy of the input), then transformed one axis at a time, so every 1-D
transform is a handful of adds on whole channel vectors.

``k`` holds the constants 2, 4, 5, 8 and 0 in the arrays' own dtype, so float32 work
stays float32 (an integer literal would promote it to float64).
"""
from __future__ import annotations

import numpy as np

from ._jit import jit


@jit(inline="always")
def _bt4(d0, d1, d2, d3, c2, c4, c5):  # F(2x2, 3x3): B^T d (c4, c5 unused)
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


@jit(inline="always")
def _bt6(d0, d1, d2, d3, d4, d5, c2, c4, c5):  # F(4x4, 3x3): B^T d
    return (c4 * d0 - c5 * d2 + d4, d3 + d4 - c4 * (d1 + d2), c4 * (d1 - d2) - d3 + d4,
            c2 * (d3 - d1) - d2 + d4, c2 * (d1 - d3) - d2 + d4, c4 * d1 - c5 * d3 + d5)


@jit(inline="always")
def _at4(m0, m1, m2, m3, c2, c4, c8):  # F(2x2, 3x3): A^T m
    return m0 + m1 + m2, m1 - m2 - m3


@jit(inline="always")
def _at6(m0, m1, m2, m3, m4, m5, c2, c4, c8):  # F(4x4, 3x3): A^T m
    a, b, c, d = m1 + m2, m1 - m2, m3 + m4, m3 - m4
    return m0 + a + c, b + c2 * d, a + c4 * c, b + c8 * d + m5


@jit(inline="always")
def _a4(d0, d1, c2, c4, c8):  # F(2x2, 3x3): A d (a 2-tap dy row to 4 points)
    return d0, d0 + d1, d0 - d1, -d1


@jit(inline="always")
def _a6(d0, d1, d2, d3, c2, c4, c8):  # F(4x4, 3x3): A d
    e, o = d0 + d2, d1 + d3
    e4, o2 = d0 + c4 * d2, c2 * d1 + c8 * d3
    return d0, e + o, e - o, e4 + o2, e4 - o2, d3


@jit(inline="always")
def _gather(x, n, r0, c0, tile):
    """tile[i, j, :] = x[n, r0 + i, c0 + j, :], zeros outside x."""
    a, b, ch = tile.shape
    H, W = x.shape[1], x.shape[2]
    for i in range(a):
        r = r0 + i
        for j in range(b):
            c = c0 + j
            if 0 <= r < H and 0 <= c < W:
                for q in range(ch):
                    tile[i, j, q] = x[n, r, c, q]
            else:
                for q in range(ch):
                    tile[i, j, q] = 0


@jit
def input_tiles(x, pt, pl, m, n0, n1, ti0, ti1, tw, k, V):
    """V[xi * a + nu, p, c] = (B^T d_p B)[xi, nu] for the a x a input tile d_p of channel c
    whose top-left is (ti * m - pt, tj * m - pl); a = m + 2."""
    C = x.shape[3]
    a = m + 2
    c2, c4, c5 = k[0], k[1], k[2]
    tile = np.empty((a, a, C), x.dtype)
    t = np.empty((a, a, C), x.dtype)
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            for tj in range(tw):
                _gather(x, n, ti * m - pt, tj * m - pl, tile)
                if m == 2:
                    for j in range(4):
                        for q in range(C):
                            r = _bt4(tile[0, j, q], tile[1, j, q], tile[2, j, q], tile[3, j, q], c2, c4, c5)
                            t[0, j, q], t[1, j, q], t[2, j, q], t[3, j, q] = r
                    for u in range(4):
                        b = u * 4
                        for q in range(C):
                            r = _bt4(t[u, 0, q], t[u, 1, q], t[u, 2, q], t[u, 3, q], c2, c4, c5)
                            V[b, p, q], V[b + 1, p, q], V[b + 2, p, q], V[b + 3, p, q] = r
                else:
                    for j in range(6):
                        for q in range(C):
                            r = _bt6(tile[0, j, q], tile[1, j, q], tile[2, j, q], tile[3, j, q],
                                     tile[4, j, q], tile[5, j, q], c2, c4, c5)
                            t[0, j, q], t[1, j, q], t[2, j, q], t[3, j, q], t[4, j, q], t[5, j, q] = r
                    for u in range(6):
                        b = u * 6
                        for q in range(C):
                            r = _bt6(t[u, 0, q], t[u, 1, q], t[u, 2, q], t[u, 3, q], t[u, 4, q], t[u, 5, q],
                                     c2, c4, c5)
                            V[b, p, q], V[b + 1, p, q], V[b + 2, p, q] = r[0], r[1], r[2]
                            V[b + 3, p, q], V[b + 4, p, q], V[b + 5, p, q] = r[3], r[4], r[5]
                p += 1


@jit
def output_tiles(M, m, n0, n1, ti0, ti1, tw, k, y):
    """y[n, ti*m + i, tj*m + j, :] = (A^T M_p A)[i, j] for every tile p, clipped at y's edge."""
    K = y.shape[3]
    OH, OW = y.shape[1], y.shape[2]
    c2, c4, c8 = k[0], k[1], k[3]
    a = m + 2
    t = np.empty((m, a, K), y.dtype)
    out = np.empty((m, m, K), y.dtype)
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            for tj in range(tw):
                if m == 2:
                    for v in range(4):
                        for q in range(K):
                            r = _at4(M[v, p, q], M[4 + v, p, q], M[8 + v, p, q], M[12 + v, p, q], c2, c4, c8)
                            t[0, v, q], t[1, v, q] = r
                    for i in range(2):
                        for q in range(K):
                            r = _at4(t[i, 0, q], t[i, 1, q], t[i, 2, q], t[i, 3, q], c2, c4, c8)
                            out[i, 0, q], out[i, 1, q] = r
                else:
                    for v in range(6):
                        for q in range(K):
                            r = _at6(M[v, p, q], M[6 + v, p, q], M[12 + v, p, q], M[18 + v, p, q],
                                     M[24 + v, p, q], M[30 + v, p, q], c2, c4, c8)
                            t[0, v, q], t[1, v, q], t[2, v, q], t[3, v, q] = r
                    for i in range(4):
                        for q in range(K):
                            r = _at6(t[i, 0, q], t[i, 1, q], t[i, 2, q], t[i, 3, q], t[i, 4, q], t[i, 5, q],
                                     c2, c4, c8)
                            out[i, 0, q], out[i, 1, q], out[i, 2, q], out[i, 3, q] = r
                r0, c0 = ti * m, tj * m
                for i in range(min(m, OH - r0)):
                    for j in range(min(m, OW - c0)):
                        for q in range(K):
                            y[n, r0 + i, c0 + j, q] = out[i, j, q]
                p += 1


@jit
def gradient_tiles(dy, m, n0, n1, ti0, ti1, tw, k, W):
    """W[xi * a + nu, p, :] = (A dy_p A^T)[xi, nu] for the m x m output-gradient tile dy_p
    at (ti * m, tj * m), zeros past dy's edge (the filter gradient's "data" transform)."""
    K = dy.shape[3]
    a = m + 2
    c2, c4, c8 = k[0], k[1], k[3]
    tile = np.empty((m, m, K), dy.dtype)
    t = np.empty((a, m, K), dy.dtype)
    p = 0
    for n in range(n0, n1):
        for ti in range(ti0, ti1):
            for tj in range(tw):
                _gather(dy, n, ti * m, tj * m, tile)
                if m == 2:
                    for j in range(2):
                        for q in range(K):
                            r = _a4(tile[0, j, q], tile[1, j, q], c2, c4, c8)
                            t[0, j, q], t[1, j, q], t[2, j, q], t[3, j, q] = r
                    for u in range(4):
                        b = u * 4
                        for q in range(K):
                            r = _a4(t[u, 0, q], t[u, 1, q], c2, c4, c8)
                            W[b, p, q], W[b + 1, p, q], W[b + 2, p, q], W[b + 3, p, q] = r
                else:
                    for j in range(4):
                        for q in range(K):
                            r = _a6(tile[0, j, q], tile[1, j, q], tile[2, j, q], tile[3, j, q], c2, c4, c8)
                            t[0, j, q], t[1, j, q], t[2, j, q], t[3, j, q], t[4, j, q], t[5, j, q] = r
                    for u in range(6):
                        b = u * 6
                        for q in range(K):
                            r = _a6(t[u, 0, q], t[u, 1, q], t[u, 2, q], t[u, 3, q], c2, c4, c8)
                            W[b, p, q], W[b + 1, p, q], W[b + 2, p, q] = r[0], r[1], r[2]
                            W[b + 3, p, q], W[b + 4, p, q], W[b + 5, p, q] = r[3], r[4], r[5]
                p += 1
