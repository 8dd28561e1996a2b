"""Loops of max pooling, plain Python that ``jit.loops`` compiles with numba (NumPy arrays
only; ``nn_pool`` has the ``xp`` path).

Arrays are (n, h, w, c) and C-contiguous; channels_first data comes in as
(n * c, h, w, 1), which is the same memory. Each loop handles images ``n0:n1`` so a
call can be split over threads. Window cells are scanned row-major and only real
cells are visited, so padding never wins; a NaN wins over any number (as in
``np.maximum``) and the first NaN keeps the window.
"""
from __future__ import annotations


def max_forward(x, ph, pw, sh, sw, pt, pl, n0, n1, y, idx):
    """y[n, i, j, c] = max of the window, idx[n, i, j, c] = its row-major offset in it."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    OH, OW = y.shape[1], y.shape[2]
    for n in range(n0, n1):
        for i in range(OH):
            r0 = i * sh - pt
            a0, a1 = max(0, -r0), min(ph, H - r0)
            for j in range(OW):
                c0 = j * sw - pl
                b0, b1 = max(0, -c0), min(pw, W - c0)
                best = y[n, i, j]
                at = idx[n, i, j]
                first = a0 * pw + b0
                src = x[n, r0 + a0, c0 + b0]
                for q in range(C):
                    best[q] = src[q]
                    at[q] = first
                for a in range(a0, a1):
                    for b in range(b0, b1):
                        k = a * pw + b
                        if k == first:
                            continue
                        src = x[n, r0 + a, c0 + b]
                        for q in range(C):
                            v = src[q]
                            cur = best[q]
                            if cur == cur and (v > cur or v != v):
                                best[q] = v
                                at[q] = k


def max_forward_2x2(x, n0, n1, y, idx):
    """``max_forward`` for 2x2 windows at stride 2 without padding (VGG's pools), the
    same results (winner, offset, NaN rule), 7x faster: the four cells are read once
    per pixel and the channel loop has no stores it could alias, so it vectorises."""
    C = x.shape[3]
    OH, OW = y.shape[1], y.shape[2]
    for n in range(n0, n1):
        for i in range(OH):
            r0 = x[n, 2 * i]
            r1 = x[n, 2 * i + 1]
            for j in range(OW):
                c00, c01, c10, c11 = r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]
                yo = y[n, i, j]
                io = idx[n, i, j]
                for q in range(C):
                    best = c00[q]
                    at = 0
                    v = c01[q]
                    t = best == best and (v > best or v != v)  # as in max_forward: NaN wins, first NaN stays
                    best = v if t else best
                    at = 1 if t else at
                    v = c10[q]
                    t = best == best and (v > best or v != v)
                    best = v if t else best
                    at = 2 if t else at
                    v = c11[q]
                    t = best == best and (v > best or v != v)
                    best = v if t else best
                    at = 3 if t else at
                    yo[q] = best
                    io[q] = at


def max_backward(dy, idx, ph, pw, sh, sw, pt, pl, tiling, n0, n1, zero, dx):
    """dx = each window's dy at its winner, 0 elsewhere. ``tiling``: windows neither
    overlap nor leave gaps inside the covered area and there is no padding, so every
    covered cell is written once (no zeroing pass); otherwise dx is zeroed and added to,
    window offset by window offset, so a cell that wins several windows sums their dy in
    the same order as the ``xp`` path (the results agree bit for bit).
    ``zero`` is a one-element array of dx's dtype."""
    H, W, C = dx.shape[1], dx.shape[2], dx.shape[3]
    OH, OW = dy.shape[1], dy.shape[2]
    z = zero[0]  # a zero of dx's dtype (a literal 0 would make the select float64)
    for n in range(n0, n1):
        if tiling:
            for r in range(OH * ph, H):        # rows and columns no window covers
                for s in range(W):
                    for q in range(C):
                        dx[n, r, s, q] = z
            for r in range(min(OH * ph, H)):
                for s in range(OW * pw, W):
                    for q in range(C):
                        dx[n, r, s, q] = z
            for i in range(OH):
                for j in range(OW):
                    g = dy[n, i, j]
                    at = idx[n, i, j]
                    for a in range(ph):
                        for b in range(pw):
                            k = a * pw + b
                            dst = dx[n, i * ph + a, j * pw + b]
                            for q in range(C):
                                dst[q] = g[q] if at[q] == k else z
        else:
            for r in range(H):
                for s in range(W):
                    for q in range(C):
                        dx[n, r, s, q] = z
            for k in range(ph * pw):  # offsets outer: each cell's sum in the xp path's order
                a, b = k // pw, k % pw
                for i in range(OH):
                    r = i * sh - pt + a
                    if r < 0 or r >= H:
                        continue
                    for j in range(OW):
                        s = j * sw - pl + b
                        if s < 0 or s >= W:
                            continue
                        for q in range(C):
                            if idx[n, i, j, q] == k:
                                dx[n, r, s, q] += dy[n, i, j, q]


def max_gather(g, idx, pw, sh, sw, pt, pl, n0, n1, out):
    """out[n, i, j, c] = g at the winner of window (i, j) (the adjoint of max_backward)."""
    OH, OW, C = out.shape[1], out.shape[2], out.shape[3]
    for n in range(n0, n1):
        for i in range(OH):
            for j in range(OW):
                for q in range(C):
                    k = idx[n, i, j, q]
                    out[n, i, j, q] = g[n, i * sh - pt + k // pw, j * sw - pl + k % pw, q]
