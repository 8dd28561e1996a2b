"""Reduction kernels: ``xp``'s own in the portable table; on the NumPy backend
(``CPU_KERNELS``) a float sum or mean over the leading axes of a large array runs over
the cores."""
import numpy as np

from graphflow.ops import reductions as red

from ..table import CPU_KERNELS, KERNELS
from ._parallel import run_parts


SPLIT_MIN = 1 << 20  # elements: a sum over leading axes of a larger array runs over the cores


def _leading_sum(x, axes, dtype):
    """The sum over leading axes ``0..k-1`` of a large contiguous NumPy array as per-core
    partial sums, added in part order (so the result depends only on the thread count),
    or None where that does not apply."""
    k = len(axes)
    if x.size < SPLIT_MIN or axes != tuple(range(k)) or not x.flags.c_contiguous:
        return None
    rows = x.reshape((-1,) + x.shape[k:])
    partials = run_parts(lambda lo, hi: np.sum(rows[lo:hi], axis=0, dtype=dtype), rows.shape[0], blas=False)
    total = partials[0]
    for p in partials[1:]:
        total += p
    return total


def _reduction(name, cpu=False):
    """The factory for reduction ``name``; ``cpu``: host arrays, whose float sums and
    means may split over the cores (``_leading_sum``)."""
    def factory(op, node, xp):
        fn = getattr(xp, name)
        axes, keep = op.axes, op.keepdims
        dtype = node.outputs[0].dtype
        split = cpu and name in ("sum", "mean") and np.dtype(dtype).kind == "f"

        def run(x, out=None):
            r = _leading_sum(x, axes, dtype) if split else None
            if r is None:
                r = fn(x, axis=axes, keepdims=keep)
            else:
                if name == "mean":
                    r /= np.asarray(x.size // r.size, dtype)
                if keep:
                    r = r.reshape(tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
            return r if getattr(r, "dtype", None) == dtype else xp.asarray(r, dtype)
        return run
    return factory


for _op, _name in ((red.Sum, "sum"), (red.Mean, "mean"), (red.Max, "max"), (red.Min, "min"),
                   (red.Prod, "prod")):
    KERNELS.register(_op)(_reduction(_name))
CPU_KERNELS.register(red.Sum)(_reduction("sum", cpu=True))
CPU_KERNELS.register(red.Mean)(_reduction("mean", cpu=True))


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
