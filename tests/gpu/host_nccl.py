"""An NCCL stand-in for the cupy-on-host stand-in (``host_cupy``): ``cupy.cuda.nccl``'s
constants, ``get_unique_id`` and an ``NcclCommunicator`` whose collectives exchange over
MPI (mpi4py's ``COMM_WORLD``, duplicated) what lies at the raw device pointers they are
given, as NCCL does with device memory.

It takes what NCCL takes (pointers, element counts, NCCL's datatype and op numbers, a
stream) and checks what a GPU would punish: every buffer must lie inside a live
``DeviceArray`` (a host pointer or a count past the end is refused, where real NCCL
would read garbage or fault), and the datatype must be the one the caller meant.

    >>> comm = NCCL.NcclCommunicator(size, NCCL.get_unique_id(), rank)
    >>> comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, NCCL.NCCL_FLOAT32, NCCL.NCCL_SUM, 0)
"""
from __future__ import annotations

import ctypes
import types
import weakref

import numpy as np

DTYPES = ("int8", "uint8", "int32", "uint32", "int64", "uint64", "float16", "float32", "float64")
OPS = {0: np.add, 1: np.multiply, 2: np.maximum, 3: np.minimum}
LIVE: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()   # id -> device arrays NCCL may use


def _span(a):
    from host_cupy import data_of
    host = data_of(a)
    start = host.__array_interface__["data"][0]
    return start, start + host.nbytes


def device_buffer(ptr: int, count: int, datatype: int) -> np.ndarray:
    """The ``count`` elements of NCCL type ``datatype`` at device pointer ``ptr``, as a
    NumPy view (a ValueError where they are not all inside one live device array)."""
    dtype = np.dtype(DTYPES[datatype])
    nbytes = count * dtype.itemsize
    if not any(lo <= ptr and ptr + nbytes <= hi for lo, hi in map(_span, list(LIVE.values()))):
        raise ValueError(f"NCCL stand-in: {count} x {dtype} at {ptr:#x} is not inside a device array "
                         f"(a host pointer, or a count past the buffer's end)")
    raw = (ctypes.c_char * nbytes).from_address(ptr)
    return np.frombuffer(raw, dtype=dtype, count=count)


class NcclCommunicator:
    """One rank of a communicator of ``size``: collectives over MPI on device memory."""

    def __init__(self, size, unique_id, rank):
        from mpi4py import MPI
        self.comm = MPI.COMM_WORLD.Dup()
        if self.comm.Get_size() != size or self.comm.Get_rank() != rank:
            raise ValueError(f"NCCL stand-in: rank {rank} of {size}, but MPI says "
                             f"{self.comm.Get_rank()} of {self.comm.Get_size()}")
        self.size, self.rank, self.calls = size, rank, 0

    def _gather(self, ptr, count, datatype):
        self.calls += 1
        return self.comm.allgather(device_buffer(ptr, count, datatype).copy())

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
        parts = self._gather(sendbuf, count, datatype)
        device_buffer(recvbuf, count, datatype)[...] = OPS[op].reduce(np.stack(parts), axis=0)

    def reduce(self, sendbuf, recvbuf, count, datatype, op, root, stream):
        parts = self._gather(sendbuf, count, datatype)
        if self.rank == root:
            device_buffer(recvbuf, count, datatype)[...] = OPS[op].reduce(np.stack(parts), axis=0)

    def bcast(self, buff, count, datatype, root, stream):
        parts = self._gather(buff, count, datatype)
        device_buffer(buff, count, datatype)[...] = parts[root]

    def allGather(self, sendbuf, recvbuf, count, datatype, stream):
        parts = self._gather(sendbuf, count, datatype)
        device_buffer(recvbuf, count * self.size, datatype)[...] = np.concatenate(parts)

    def reduceScatter(self, sendbuf, recvbuf, recvcount, datatype, op, stream):
        parts = self._gather(sendbuf, recvcount * self.size, datatype)
        total = OPS[op].reduce(np.stack(parts), axis=0)
        device_buffer(recvbuf, recvcount, datatype)[...] = total[self.rank * recvcount:(self.rank + 1) * recvcount]


NCCL = types.SimpleNamespace(
    available=True, NcclCommunicator=NcclCommunicator, get_unique_id=lambda: tuple(range(128)),
    NCCL_SUM=0, NCCL_PROD=1, NCCL_MAX=2, NCCL_MIN=3,
    **{f"NCCL_{name.upper()}": k for k, name in enumerate(DTYPES)})
