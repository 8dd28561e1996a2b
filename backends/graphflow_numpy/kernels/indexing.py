"""Indexing kernels: basic indexing (a view), gathers, and their scatter duals."""
from graphflow.ops import indexing as ix

from ..table import KERNELS


def python_key(key) -> tuple:
    """The stored key of a ``GetItem`` as a NumPy index (slices back from tuples)."""
    return tuple(slice(*e) if isinstance(e, tuple) else e for e in key)


@KERNELS.register(ix.GetItem)
def getitem(op, node, xp):
    key = python_key(op.key)
    if node.outputs[0].ndim == 0:  # all axes taken by ints: NumPy gives a scalar
        return lambda x, out=None: xp.asarray(x[key])
    return lambda x, out=None: x[key]


@KERNELS.register(ix.GetItemGrad, writes_out=True)
def getitem_grad(op, node, xp):
    key, dtype = python_key(op.key), node.outputs[0].dtype

    def run(g, like, out=None):
        if out is None:
            out = xp.zeros(like.shape, dtype)
        else:
            out[...] = 0
        out[key] = g
        return out
    return run


@KERNELS.register(ix.Gather, writes_out=True)
def gather(op, node, xp):
    axis = op.axis

    def run(x, indices, out=None):
        return xp.take(x, indices, axis=axis) if out is None else xp.take(x, indices, axis=axis, out=out)
    return run


@KERNELS.register(ix.GatherGrad, writes_out=True)
def gather_grad(op, node, xp):
    axis, dtype = op.axis, node.outputs[0].dtype

    def run(g, indices, like, out=None):
        if out is None:
            out = xp.zeros(like.shape, dtype)
        else:
            out[...] = 0
        # rows of g, one per index, added (repeats accumulate) into axis 0 of a view of out
        rows = g.reshape(like.shape[:axis] + (indices.size,) + like.shape[axis + 1:])
        xp.add.at(xp.moveaxis(out, axis, 0), indices.reshape(-1), xp.moveaxis(rows, axis, 0))
        return out
    return run
