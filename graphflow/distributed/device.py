"""Collectives on device (GPU) arrays, for a CuPy backend: NCCL on device buffers where
every rank has it, else copies through the host (``exchange``).

``DeviceCollectives(xp, nccl)`` has the methods of ``graphflow.distributed.exchange``'s
functions, for arrays of the namespace ``xp`` (``cupy``); ``nccl`` is CuPy's NCCL module
(``cupy.cuda.nccl``) or None. Both are handed in by the backend that owns them — the core
never imports an array library — and the NumPy backend's collective kernels do so when
their namespace is not NumPy, so a backend whose kernel table inherits NumPy's (CuPy's)
gets collectives with no code of its own.

- The rendezvous (shapes, dtypes, kinds, deadline, failure notes) is the host one:
  only metadata crosses, the GPU is not synchronised. After it, every rank takes NCCL
  or every rank takes the host path (agreed at the first collective).
- NCCL calls are queued on the current stream; the kernels after them on that stream see
  the result, so nothing waits on the host. Once the rendezvous has matched every rank,
  NCCL has nothing left to deadlock on.
- The NCCL communicator is made at the first collective (rank 0 makes the id, MPI
  broadcasts it); every process must already use its own GPU, e.g.
  ``cupy.cuda.Device(dist.local_rank() % cupy.cuda.runtime.getDeviceCount()).use()``.
- NCCL's all-gather and reduce-scatter need equal counts: rows are padded to the
  largest rank's and cut back afterwards.
- ``GRAPHFLOW_NCCL=0`` forces the host path.

The test suite runs all of it without a GPU: in a 2-rank MPI job on the stand-in GPU of
tests/gpu/host_cupy.py (device arrays that are not NumPy's) and its NCCL stand-in, which
exchanges over MPI what lies at the device pointers it is handed.
"""
from __future__ import annotations

import os
import time

from . import exchange
from .context import current

_NCCL_DTYPES = ("int8", "uint8", "int32", "uint32", "int64", "uint64", "float16", "float32", "float64")


def _nccl_communicator(ctx, nccl):
    """This process's NCCL communicator, or None where some rank cannot use NCCL; made
    at the first device collective, right after its rendezvous, when all ranks are there."""
    if "nccl" not in ctx.device:
        usable = (nccl is not None and bool(getattr(nccl, "available", False))
                  and os.environ.get("GRAPHFLOW_NCCL", "1") != "0")
        comm = None
        if all(ctx.comm.allgather(usable)):
            uid = ctx.comm.bcast(nccl.get_unique_id() if ctx.rank == 0 else None, root=0)
            comm = nccl.NcclCommunicator(ctx.size, uid, ctx.rank)
        ctx.device["nccl"] = comm
    return ctx.device["nccl"]


def _timed(ctx, nbytes, call):
    start = time.monotonic()
    call()  # queued on the stream: this is the time to launch it, not to finish it
    ctx.stats.transfer_seconds += time.monotonic() - start
    ctx.stats.bytes += nbytes
    ctx.stats.collectives += 1


class DeviceCollectives:
    """The collectives of ``exchange`` for arrays of namespace ``xp`` (see the module
    docstring); ``nccl`` is ``cupy.cuda.nccl`` or None (host copies only)."""

    def __init__(self, xp, nccl=None):
        self.xp, self.nccl = xp, nccl

    # ------------------------------------------------------------ plumbing
    def _on_nccl(self, ctx, dtype, reduction="sum"):
        """``(communicator, datatype, op, stream)``, or None for the host path (no NCCL
        on some rank, or a dtype NCCL lacks): every rank decides alike."""
        comm, name = _nccl_communicator(ctx, self.nccl), str(dtype)
        if comm is None or name not in _NCCL_DTYPES:
            return None
        nccl = self.nccl
        op = {"sum": nccl.NCCL_SUM, "mean": nccl.NCCL_SUM, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}[reduction]
        return comm, getattr(nccl, "NCCL_" + name.upper()), op, self.xp.cuda.get_current_stream().ptr

    def _host(self, arrays):
        return [self.xp.asnumpy(a) for a in arrays]

    def _device(self, out):
        return [self.xp.asarray(o) for o in out] if isinstance(out, list) else self.xp.asarray(out)

    def _pack(self, arrays):
        flat = [a.reshape(-1) for a in arrays]
        return self.xp.concatenate(flat) if len(flat) > 1 else flat[0].copy()

    # ------------------------------------------------------------ the collectives
    def _packed(self, kind, arrays, node, host_fn, arg, launch, nccl_op="sum", **record) -> list:
        """Meet the other ranks (``record``: what they must agree on), then ``launch(comm,
        buf, dtype, op, stream)`` on one packed device buffer, ``op`` being NCCL's for
        ``nccl_op`` — or ``host_fn(host arrays, arg, node, met=True)`` through the host."""
        ctx = current()
        if ctx.size == 1:
            return [a.copy() for a in arrays]
        exchange.rendezvous(ctx, node, kind, arrays, **record)
        nccl = self._on_nccl(ctx, arrays[0].dtype, nccl_op)
        if nccl is None:
            return self._device(host_fn(self._host(arrays), arg, node, met=True))
        comm, dtype, op, stream = nccl
        buf = self._pack(arrays)
        _timed(ctx, buf.nbytes, lambda: launch(comm, buf, dtype, op, stream))
        return exchange.unpack(buf, [a.shape for a in arrays])

    def allreduce(self, arrays, reduction="mean", node=None) -> list:
        def launch(comm, buf, dtype, op, stream):
            comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, dtype, op, stream)
            if reduction == "mean":
                buf /= current().size
        return self._packed("allreduce", arrays, node, exchange.allreduce, reduction, launch, reduction,
                            reduction=reduction)

    def broadcast(self, arrays, root=0, node=None) -> list:
        def launch(comm, buf, dtype, op, stream):
            comm.bcast(buf.data.ptr, buf.size, dtype, root, stream)
        return self._packed("broadcast", arrays, node, exchange.broadcast, root, launch, root=root)

    def reduce(self, arrays, root=0, node=None) -> list:
        def launch(comm, buf, dtype, op, stream):
            comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, dtype, op, root, stream)
            if current().rank != root:
                buf.fill(0)
        return self._packed("reduce", arrays, node, exchange.reduce, root, launch, root=root)

    def allgather(self, x, node=None):
        ctx = current()
        if ctx.size == 1:
            return x.copy()
        rows = exchange.rendezvous(ctx, node, "allgather", [x], rows=x.shape[0], gather=True)
        nccl = self._on_nccl(ctx, x.dtype)
        if nccl is None:
            return self._device(exchange.allgather(self._host([x])[0], node, rows=rows))
        comm, dtype, _, stream = nccl
        xp, top = self.xp, int(rows.max())
        send = padded_rows(xp, x, top)
        recv = xp.empty((ctx.size * top,) + tuple(x.shape[1:]), x.dtype)
        _timed(ctx, send.nbytes, lambda: comm.allGather(send.data.ptr, recv.data.ptr, send.size, dtype, stream))
        return unpadded_rows(xp, recv, rows, top)

    def reduce_scatter(self, g, like_rows, node=None):
        ctx = current()
        if ctx.size == 1:
            return g.copy()
        rows = exchange.rendezvous(ctx, node, "reduce_scatter", [g], rows=like_rows)
        exchange.check_rows(g, rows, node)
        nccl = self._on_nccl(ctx, g.dtype)
        if nccl is None:
            return self._device(exchange.reduce_scatter(self._host([g])[0], like_rows, node, rows=rows))
        comm, dtype, op, stream = nccl
        xp, top = self.xp, int(rows.max())
        send = scatter_layout(xp, g, rows, top)
        recv = xp.empty((top,) + tuple(g.shape[1:]), g.dtype)
        _timed(ctx, send.nbytes,
               lambda: comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, dtype, op, stream))
        return recv[:like_rows]


# ---------------------------------------------------------------- equal counts for NCCL
def padded_rows(xp, x, top):
    """``x`` with zero rows appended up to ``top`` rows."""
    out = xp.zeros((top,) + tuple(x.shape[1:]), x.dtype)
    out[:x.shape[0]] = x
    return out


def unpadded_rows(xp, gathered, rows, top):
    """Every rank's real rows out of an all-gather of ``top``-row blocks."""
    return xp.concatenate([gathered[r * top:r * top + int(n)] for r, n in enumerate(rows)])


def scatter_layout(xp, g, rows, top):
    """``g`` (every rank's rows, stacked) as ``len(rows)`` blocks of ``top`` rows."""
    out = xp.zeros((len(rows) * top,) + tuple(g.shape[1:]), g.dtype)
    start = 0
    for r, n in enumerate(rows):
        out[r * top:r * top + int(n)] = g[start:start + int(n)]
        start += int(n)
    return out
