"""Collective ops (graphflow.ops.collective): the exchange itself is graphflow.distributed's.

The portable kernels (``KERNELS``, which the CuPy backend inherits) hand ``xp`` and its
NCCL module (``xp.cuda.nccl``) to ``graphflow.distributed.device.DeviceCollectives``,
which uses NCCL on device buffers where it can and host copies otherwise. The NumPy
backend's (``CPU_KERNELS``) run on host buffers with mpi4py
(``graphflow.distributed.exchange``). mpi4py is imported by
``graphflow.distributed.init()``, never here.
"""
from __future__ import annotations

import importlib

from graphflow.distributed import exchange
from graphflow.ops import collective as co

from ..table import CPU_KERNELS, KERNELS


def _nccl(xp):
    """The NCCL module of ``xp``'s library: ``xp.cuda.nccl`` (a stand-in namespace brings
    its own), else ``cupy.cuda.nccl`` imported, else None (host copies only)."""
    cuda = getattr(xp, "cuda", None)
    if cuda is not None and hasattr(cuda, "nccl"):
        return cuda.nccl
    try:
        return importlib.import_module("cupy.cuda.nccl")
    except ImportError:
        return None


def _device_engine(xp):
    from graphflow.distributed.device import DeviceCollectives
    return DeviceCollectives(xp, _nccl(xp))


def _host_engine(xp):
    return exchange


def _results(ys):
    return ys[0] if len(ys) == 1 else tuple(ys)


def _packed_kernel(engine_of, method, param):
    """A factory for a fused collective: ``engine.method(inputs, op.param, node)``."""
    def factory(op, node, xp):
        run, arg = getattr(engine_of(xp), method), getattr(op, param)
        return lambda *xs, out=None: _results(run(xs, arg, node))
    return factory


def _allgather(engine_of):
    def factory(op, node, xp):
        engine = engine_of(xp)
        return lambda x, out=None: engine.allgather(x, node)
    return factory


def _reduce_scatter(engine_of):
    def factory(op, node, xp):
        engine = engine_of(xp)
        return lambda g, like, out=None: engine.reduce_scatter(g, like.shape[0], node)
    return factory


for _table, _engine_of in ((KERNELS, _device_engine), (CPU_KERNELS, _host_engine)):
    _table.register(co.Allreduce)(_packed_kernel(_engine_of, "allreduce", "reduction"))
    _table.register(co.Broadcast)(_packed_kernel(_engine_of, "broadcast", "root"))
    _table.register(co.Reduce)(_packed_kernel(_engine_of, "reduce", "root"))
    _table.register(co.Allgather)(_allgather(_engine_of))
    _table.register(co.ReduceScatter)(_reduce_scatter(_engine_of))
