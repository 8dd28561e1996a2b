"""A direct convolution loop for inputs with few channels (an RGB or grey image: the first
layer of a CNN), plain Python that ``jit.loops`` compiles with numba (NumPy arrays only).

With 3 input channels im2col's columns are 27 values long and Winograd's GEMMs 3 deep:
BLAS runs both at shapes it does poorly. Here each output pixel sums its kh x kw x C
window straight into a vector of all output channels (the innermost loop runs over
contiguous output channels and vectorises), so the input is read once per tap and never
copied. Its sums are direct: rounding as a direct sum's, a zero window exactly 0.
"""
from __future__ import annotations

import numpy as np


def forward_rows(x, k, pt, pl, n0, n1, r0, r1, y):
    """y[n, i, j, :] = sum over (a, b, c) of x[n, i + a - pt, j + b - pl, c] * k[a, b, c, :]
    for images n0:n1 and output rows r0:r1 (stride 1, undilated; zero outside x). Four
    output pixels of a row at a time, so each kernel vector read serves four sums."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    KH, KW, O = k.shape[0], k.shape[1], k.shape[3]
    OW = y.shape[2]
    acc = np.empty((4, O), y.dtype)
    v = np.empty(4, x.dtype)
    for n in range(n0, n1):
        for i in range(r0, r1):
            for j0 in range(0, OW, 4):
                q = min(4, OW - j0)
                acc[:, :] = 0
                for a in range(KH):
                    r = i + a - pt
                    if r < 0 or r >= H:
                        continue
                    for b in range(KW):
                        for c in range(C):
                            for p in range(4):
                                col = j0 + p + b - pl
                                v[p] = x[n, r, col, c] if p < q and 0 <= col < W else 0
                            for o in range(O):
                                w = k[a, b, c, o]
                                acc[0, o] += v[0] * w
                                acc[1, o] += v[1] * w
                                acc[2, o] += v[2] * w
                                acc[3, o] += v[3] * w
                for p in range(q):
                    for o in range(O):
                        y[n, i, j0 + p, o] = acc[p, o]
