"""Shape kernels (views where NumPy gives them)."""
from graphflow.ops import shape as sh

from ..table import KERNELS


@KERNELS.register(sh.Reshape)
def reshape(op, node, xp):
    return lambda x, out=None: xp.reshape(x, op.shape)


@KERNELS.register(sh.ReshapeLike)
def reshape_like(op, node, xp):
    return lambda x, like, out=None: xp.reshape(x, like.shape)


@KERNELS.register(sh.Transpose)
def transpose(op, node, xp):
    return lambda x, out=None: xp.transpose(x, op.axes)


@KERNELS.register(sh.ExpandDims)
def expand_dims(op, node, xp):
    return lambda x, out=None: xp.expand_dims(x, op.axis)


@KERNELS.register(sh.Squeeze)
def squeeze(op, node, xp):
    return lambda x, out=None: xp.squeeze(x, op.axes) if op.axes else x


@KERNELS.register(sh.BroadcastTo)
def broadcast_to(op, node, xp):
    return lambda x, out=None: xp.broadcast_to(x, op.shape)


@KERNELS.register(sh.BroadcastLike)
def broadcast_like(op, node, xp):
    return lambda x, like, out=None: xp.broadcast_to(x, like.shape)


@KERNELS.register(sh.SumLike)
def sum_like(op, node, xp):
    def run(x, like, out=None):
        if x.shape == like.shape:
            return x
        lead = x.ndim - like.ndim
        axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(like.shape)
                                          if d == 1 and x.shape[lead + i] != 1)
        return xp.sum(x, axis=axes, keepdims=True, dtype=x.dtype).reshape(like.shape)  # int8 stays int8
    return run
