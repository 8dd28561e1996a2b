"""Collective ops (graphflow.ops.collective): the exchange itself is graphflow.distributed's.

The NumPy backend runs them on host buffers with mpi4py (``graphflow.distributed.exchange``).
The kernels are written against ``xp`` like the others, so a backend whose table inherits
this one (CuPy) gets them too: for a non-NumPy namespace they hand ``xp`` and CuPy's NCCL
module to ``graphflow.distributed.device.DeviceCollectives``, which uses NCCL on device
buffers where it can and host copies otherwise. mpi4py is imported by
``graphflow.distributed.init()``, never here.
"""
from __future__ import annotations

import numpy as np

from graphflow.distributed import exchange
from graphflow.ops import collective as co

from ..table import KERNELS


def _engine(xp):
    """What runs collectives on ``xp``'s arrays (chosen once, at compile time)."""
    if xp is np:
        return exchange
    try:  # a GPU namespace (a backend inheriting these kernels): hand over CuPy's NCCL
        from cupy.cuda import nccl
    except ImportError:
        nccl = None
    from graphflow.distributed.device import DeviceCollectives
    return DeviceCollectives(xp, nccl)


def _results(ys):
    return ys[0] if len(ys) == 1 else tuple(ys)


def _packed_kernel(method, param):
    """A factory for a fused collective: ``engine.method(inputs, op.param, node)``."""
    def factory(op, node, xp):
        run, arg = getattr(_engine(xp), method), getattr(op, param)
        return lambda *xs, out=None: _results(run(xs, arg, node))
    return factory


KERNELS.register(co.Allreduce)(_packed_kernel("allreduce", "reduction"))
KERNELS.register(co.Broadcast)(_packed_kernel("broadcast", "root"))
KERNELS.register(co.Reduce)(_packed_kernel("reduce", "root"))


@KERNELS.register(co.Allgather)
def allgather(op, node, xp):
    engine = _engine(xp)
    return lambda x, out=None: engine.allgather(x, node)


@KERNELS.register(co.ReduceScatter)
def reduce_scatter(op, node, xp):
    engine = _engine(xp)
    return lambda g, like, out=None: engine.reduce_scatter(g, like.shape[0], node)
