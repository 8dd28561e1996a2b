"""A loop filling a convolution's column matrix in one pass, plain Python that
``jit.loops`` compiles with numba (NumPy arrays only; the ``xp`` path in ``conv_im2col``
does the same with one strided copy per kernel tap).

Where a kernel row's window lies inside the input and is undilated along the width,
its ``kw * c`` values are one contiguous run of the input and are copied as one.
"""
from __future__ import annotations


def fill_columns(x, pt, pl, sh, sw, dh, dw, kh, kw, n0, n1, r0, r1, ow, cols):
    """cols[((n - n0) * (r1 - r0) + i - r0) * ow + j, (a * kw + b) * c + ch]
    = x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, ch], zero on padding."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    run = kw * C
    row = 0
    for n in range(n0, n1):
        for i in range(r0, r1):
            for j in range(ow):
                c0 = j * sw - pl
                inside = dw == 1 and c0 >= 0 and c0 + kw <= W
                for a in range(kh):
                    r = i * sh + a * dh - pt
                    base = a * run
                    if r < 0 or r >= H:
                        for q in range(run):
                            cols[row, base + q] = 0
                    elif inside:
                        src = x[n, r].reshape(-1)  # the row, flat: (col, ch) -> col * C + ch
                        s0 = c0 * C
                        for q in range(run):
                            cols[row, base + q] = src[s0 + q]
                    else:
                        for b in range(kw):
                            c = c0 + b * dw
                            o = base + b * C
                            if 0 <= c < W:
                                for q in range(C):
                                    cols[row, o + q] = x[n, r, c, q]
                            else:
                                for q in range(C):
                                    cols[row, o + q] = 0
                row += 1
