"""softmax, log_softmax, the fused softmax cross-entropy and one_hot: each subtracts the
max along the class axis before exponentiating, so no logit can overflow."""
from __future__ import annotations

from graphflow.ops.nn import losses, softmax_ops

from graphflow.utils import checks

from ..table import KERNELS
from ._out import deliver



def shifted(xp, x, axis):
    """x - max(x) along axis (a fresh array the caller may overwrite)."""
    return x - xp.max(x, axis=axis, keepdims=True)


@KERNELS.register(softmax_ops.Softmax)
def softmax(op, node, xp):
    def run(x, out=None):
        e = xp.exp(shifted(xp, x, op.axis))
        e /= xp.sum(e, axis=op.axis, keepdims=True)
        return deliver(e, out)
    return run


def log_softmax_of(xp, x, axis):
    s = shifted(xp, x, axis)
    s -= xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))
    return s


@KERNELS.register(softmax_ops.LogSoftmax)
def log_softmax(op, node, xp):
    return lambda x, out=None: deliver(log_softmax_of(xp, x, op.axis), out)


@KERNELS.register(losses.SoftmaxCrossEntropy)
def softmax_cross_entropy(op, node, xp):
    def run(logits, target, out=None):
        logp = log_softmax_of(xp, logits, -1)
        logp *= target
        return deliver(xp.asarray(-xp.sum(logp, axis=-1)), out)
    return run


@KERNELS.register(losses.OneHot)
def one_hot(op, node, xp):
    message = f"one_hot: index {{}} is outside [0, {op.depth}) ({node.where()})"

    def run(indices, out=None):
        if indices.size:  # checked after the call's last kernel, without waiting here
            flat = indices.reshape(-1)
            bad = (flat < 0) | (flat >= op.depth)
            checks.defer(xp.any(bad), message, detail=flat[xp.argmax(bad)], error=IndexError)
        hot = indices[..., None] == xp.arange(op.depth)
        return deliver(hot.astype(op.dtype), out)
    return run
