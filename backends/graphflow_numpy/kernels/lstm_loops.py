"""Loops of the LSTM step's point-wise part (``gf.nn.lstm_cell``), plain Python that
``jit.loops`` compiles with numba (NumPy arrays only; ``nn_recurrent`` has the ``xp``
path and the same formulas). One pass over the (rows, units) cells instead of a dozen
array passes. Arrays are 2-D and C-contiguous: z (rows, 4u) with gates i, f, c, o;
``hard`` picks Keras 2's hard sigmoid over the logistic function, computed as
(1 + tanh(x/2))/2 like the element-wise sigmoid kernel.
"""
from __future__ import annotations

import math


def forward(z, c_prev, hard, h, c):
    """h, c = the LSTM step (see the module docstring), written into h and c."""
    n, u = c_prev.shape
    for r in range(n):
        for k in range(u):
            zi, zf, zo = z[r, k], z[r, u + k], z[r, 3 * u + k]
            if hard:
                i = min(max(0.2 * zi + 0.5, 0.0), 1.0)
                f = min(max(0.2 * zf + 0.5, 0.0), 1.0)
                o = min(max(0.2 * zo + 0.5, 0.0), 1.0)
            else:
                i = 0.5 * (1.0 + math.tanh(0.5 * zi))
                f = 0.5 * (1.0 + math.tanh(0.5 * zf))
                o = 0.5 * (1.0 + math.tanh(0.5 * zo))
            cn = f * c_prev[r, k] + i * math.tanh(z[r, 2 * u + k])
            c[r, k] = cn
            h[r, k] = o * math.tanh(cn)


def backward(z, c_prev, c, gh, gc, hard, dz, dc_prev):
    """dz, dc_prev of the step from the output gradients gh, gc (gates recomputed)."""
    n, u = c_prev.shape
    for r in range(n):
        for k in range(u):
            zi, zf, zo = z[r, k], z[r, u + k], z[r, 3 * u + k]
            if hard:
                i = min(max(0.2 * zi + 0.5, 0.0), 1.0)
                f = min(max(0.2 * zf + 0.5, 0.0), 1.0)
                o = min(max(0.2 * zo + 0.5, 0.0), 1.0)
                si = 0.2 if -2.5 < zi < 2.5 else 0.0
                sf = 0.2 if -2.5 < zf < 2.5 else 0.0
                so = 0.2 if -2.5 < zo < 2.5 else 0.0
            else:
                i = 0.5 * (1.0 + math.tanh(0.5 * zi))
                f = 0.5 * (1.0 + math.tanh(0.5 * zf))
                o = 0.5 * (1.0 + math.tanh(0.5 * zo))
                si, sf, so = i * (1.0 - i), f * (1.0 - f), o * (1.0 - o)
            g = math.tanh(z[r, 2 * u + k])
            tc = math.tanh(c[r, k])
            dc = gc[r, k] + gh[r, k] * o * (1.0 - tc * tc)
            dz[r, k] = dc * g * si
            dz[r, u + k] = dc * c_prev[r, k] * sf
            dz[r, 2 * u + k] = dc * i * (1.0 - g * g)
            dz[r, 3 * u + k] = gh[r, k] * tc * so
            dc_prev[r, k] = dc * f
