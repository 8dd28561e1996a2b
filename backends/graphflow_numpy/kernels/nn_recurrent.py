"""The LSTM step's point-wise part (``gf.nn.lstm_cell``) and its gradient, each one
kernel: the gates are computed into one scratch array of z's shape, worked in place."""
from __future__ import annotations

from graphflow.ops.nn import recurrent_cells as rc

from ..table import KERNELS


def _gate(xp, gate, z):
    """σ(z) in place: the logistic function as (1 + tanh(z/2))/2 (no overflow, the
    elementwise kernel's form) or Keras 2's clip(0.2 z + 0.5, 0, 1)."""
    if gate == "sigmoid":
        z *= 0.5
        xp.tanh(z, out=z)
        z += 1
        z *= 0.5
    else:
        z *= 0.2
        z += 0.5
        xp.clip(z, 0, 1, out=z)
    return z


def _gates(xp, gate, z):
    """(i, f, g, o) as views of one fresh array: σ on i, f, o and tanh on g."""
    u = z.shape[-1] // 4
    a = z.copy()
    _gate(xp, gate, a[..., :2 * u])
    xp.tanh(a[..., 2 * u:3 * u], out=a[..., 2 * u:3 * u])
    _gate(xp, gate, a[..., 3 * u:])
    return a, a[..., :u], a[..., u:2 * u], a[..., 2 * u:3 * u], a[..., 3 * u:]


@KERNELS.register(rc.LSTMCell)
def lstm_cell(op, node, xp):
    def run(z, c_prev, out=None):
        _, i, f, g, o = _gates(xp, op.gate, z)
        c = f * c_prev
        c += i * g
        h = xp.tanh(c)
        h *= o
        return h, c
    return run


@KERNELS.register(rc.LSTMCellGrad)
def lstm_cell_grad(op, node, xp):
    def run(z, c_prev, c, gh, gc, out=None):
        a, i, f, g, o = _gates(xp, op.gate, z)
        u = c.shape[-1]
        tc = xp.tanh(c)
        dc = 1 - tc * tc
        dc *= o
        dc *= gh
        dc += gc
        dz = xp.empty_like(z)
        # the gates' own derivatives, then times their incoming gradients
        if op.gate == "sigmoid":
            ds = a[..., :2 * u] * (1 - a[..., :2 * u])
            do = o * (1 - o)
        else:
            ds = xp.where((z[..., :2 * u] > -2.5) & (z[..., :2 * u] < 2.5), 0.2, 0.0).astype(z.dtype)
            do = xp.where((z[..., 3 * u:] > -2.5) & (z[..., 3 * u:] < 2.5), 0.2, 0.0).astype(z.dtype)
        xp.multiply(dc * g, ds[..., :u], out=dz[..., :u])
        xp.multiply(dc * c_prev, ds[..., u:], out=dz[..., u:2 * u])
        xp.multiply(dc * i, 1 - g * g, out=dz[..., 2 * u:3 * u])
        xp.multiply(gh * tc, do, out=dz[..., 3 * u:])
        return dz, dc * f
    return run
