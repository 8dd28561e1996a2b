"""Reduction kernels."""
from graphflow.ops import reductions as red

from ..table import KERNELS


def _reduction(name):
    def factory(op, node, xp):
        fn = getattr(xp, name)
        axes, keep = op.axes, op.keepdims
        dtype = node.outputs[0].dtype

        def run(x, out=None):
            r = fn(x, axis=axes, keepdims=keep)
            return r if getattr(r, "dtype", None) == dtype else xp.asarray(r, dtype)
        return run
    return factory


for _op, _name in ((red.Sum, "sum"), (red.Mean, "mean"), (red.Max, "max"), (red.Min, "min"),
                   (red.Prod, "prod")):
    KERNELS.register(_op)(_reduction(_name))


@KERNELS.register(red.ArgMax)
def argmax(op, node, xp):
    fn = xp.argmin if isinstance(op, red.ArgMin) else xp.argmax

    def run(x, out=None):
        return xp.asarray(fn(x, axis=op.axis, keepdims=op.keepdims), "int64")
    return run


@KERNELS.register(red.Count)
def count(op, node, xp):
    def run(x, out=None):
        n = 1
        for a in op.axes:
            n *= x.shape[a]
        return xp.asarray(n, op.dtype)
    return run
