"""Kernels of graphflow.ops.special: log-sum-exp with the maximum subtracted first."""
from graphflow.ops.special import LogSumExp

from ..table import KERNELS


@KERNELS.register(LogSumExp)
def logsumexp(op, node, xp):
    axes, keep = op.axes, op.keepdims

    def run(x, out=None):
        m = xp.max(x, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or an inf) along an axis: no shift
        r = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True))
        r += m
        return r if keep else xp.squeeze(r, axis=axes)
    return run
