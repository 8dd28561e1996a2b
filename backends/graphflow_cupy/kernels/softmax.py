"""softmax, log-softmax and softmax cross-entropy on the GPU (csrc/softmax.cu): one
warp per row, the row's maximum subtracted before exponentiating."""
from __future__ import annotations

from graphflow.ops.nn import losses, softmax_ops

from .. import device
from ..source import static_kernel
from ._register import float_kernel, prod

SOFTMAX = static_kernel("softmax.cu", "gf_softmax")
XENT = static_kernel("softmax.cu", "gf_softmax_xent")


def _softmax(log_mode: int):
    def factory(op, node, xp):
        axis = op.axis

        def run(x, out=None):
            x = xp.ascontiguousarray(x)
            y = out if out is not None else xp.empty(x.shape, x.dtype)
            length, inner = x.shape[axis], prod(x.shape[axis + 1:])
            index = device.index_type(x.size)
            fn = device.static(SOFTMAX, x.dtype, index)
            device.rows(fn, x.size // length if length else 0, index, x, y,
                        *device.scalars(index, length, inner, log_mode))
            return y
        return run
    return factory


softmax = float_kernel(softmax_ops.Softmax, writes_out=True)(_softmax(0))
log_softmax = float_kernel(softmax_ops.LogSoftmax, writes_out=True)(_softmax(1))


@float_kernel(losses.SoftmaxCrossEntropy, writes_out=True)
def softmax_cross_entropy(op, node, xp):
    def run(logits, target, out=None):
        logits, target = xp.ascontiguousarray(logits), xp.ascontiguousarray(target)
        loss = out if out is not None else xp.empty(logits.shape[:-1], logits.dtype)
        length = logits.shape[-1]
        index = device.index_type(logits.size)
        fn = device.static(XENT, logits.dtype, index)
        device.rows(fn, logits.size // length if length else 0, index, logits, target, loss,
                    *device.scalars(index, length))
        if not length:
            loss[...] = 0
        return loss
    return run
