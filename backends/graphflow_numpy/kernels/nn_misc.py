"""The activation functions of ``gf.nn`` (dropout lives with the random ops, random.py)."""
from __future__ import annotations

from graphflow.ops.nn import activations as act

from ..table import KERNELS
from ._out import deliver, to_declared_float


def _activation(fn):
    """Register-ready factory for ``fn(op, xp, x)``; the result is always an array (a
    ufunc of a 0-d input gives a NumPy scalar)."""
    def factory(op, node, xp):
        as_float = to_declared_float(node)
        return lambda x, out=None: deliver(xp.asarray(fn(op, xp, as_float(x))), out)
    return factory


def _elu(xp, x, alpha):
    neg = xp.expm1(xp.minimum(x, 0))  # e^x - 1 only where it cannot overflow
    neg *= alpha
    return xp.where(x > 0, x, neg)


@KERNELS.register(act.Elu)
@_activation
def elu(op, xp, x):
    return _elu(xp, x, op.alpha)


@KERNELS.register(act.Selu)
@_activation
def selu(op, xp, x):
    y = _elu(xp, x, act.SELU_ALPHA)
    y *= act.SELU_SCALE
    return y


@KERNELS.register(act.LeakyRelu)
@_activation
def leaky_relu(op, xp, x):
    return xp.where(x > 0, x, x * op.alpha)


@KERNELS.register(act.Softsign)
@_activation
def softsign(op, xp, x):
    return x / (xp.abs(x) + 1)


@KERNELS.register(act.HardSigmoid)
@_activation
def hard_sigmoid(op, xp, x):
    y = xp.multiply(x, 0.2, out=xp.empty_like(x))  # an array even for 0-d x: it is worked in place
    y += 0.5
    return xp.clip(y, 0, 1, out=y)


@KERNELS.register(act.Gelu)
@_activation
def gelu(op, xp, x):
    t = xp.multiply(x, x, out=xp.empty_like(x))  # an array even for 0-d x: it is worked in place
    t *= act.GELU_K
    t += 1
    t *= x
    t *= act.GELU_C
    xp.tanh(t, out=t)
    t += 1
    t *= x
    t *= 0.5
    return t
