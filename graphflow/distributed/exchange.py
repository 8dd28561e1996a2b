"""Collectives on host (NumPy) buffers with mpi4py's buffer calls — what the NumPy
backend's kernels run, and what the CuPy backend falls back to through host copies.

Every collective has two phases:

1. **Rendezvous.** Each rank contributes a small fixed-size record (kind, reduction,
   root, dtype, number of tensors, element count, a digest of the shapes, and its row
   count for gathers) with a nonblocking ``Iallgather``, and polls it with a deadline
   while watching for failure notes from other ranks. A rank that never arrives makes
   the others fail with ``CollectiveTimeoutError``; a failed rank makes them fail with
   ``PeerFailedError``; records that disagree (another shape, dtype, kind — or another
   collective altogether, when the ranks run different numbers of them) make every rank
   raise ``CollectiveMismatchError`` naming the op and the ranks, *before* any
   mismatched data transfer, which MPI would let deadlock or silently corrupt.
2. **Transfer.** All ranks are now at the same collective with matching buffers, so
   the data moves with the blocking, tuned calls: ``Allreduce`` (in place, on one
   packed buffer for all fused tensors), ``Bcast``, ``Reduce``, ``Allgatherv``,
   ``Reduce_scatter``.

In a job of one, nothing is sent and the results are computed locally. ``met=True``
(or given ``rows``) says the caller has already met the other ranks at this collective
(``graphflow.distributed.device`` does, before it picks NCCL or the host).
"""
from __future__ import annotations

import hashlib
import math
import sys
import time

import numpy as np

from .context import STALL_WARNING, current, peer_failure
from .errors import CollectiveMismatchError, CollectiveTimeoutError, PeerFailedError

KINDS = {"allreduce": 1, "broadcast": 2, "reduce": 3, "allgather": 4, "reduce_scatter": 5}
REDUCTIONS = {None: 0, "mean": 1, "sum": 2, "max": 3, "min": 4}
RECORD = 8      # int64 fields: kind, reduction, root, dtype, tensors, elements, shapes digest, rows
ROWS = 7        # the one field the ranks may differ in (their row counts, for gathers)
DESCRIPTION = 1024  # bytes of text each rank sends when the records disagree
SPIN_SECONDS = 1e-3  # poll without sleeping this long, then sleep between polls (at most 1 ms)


def where(node) -> str:
    """``allreduce(mean) `grads/allreduce` (made at train.py:41)`` for error messages."""
    if node is None:
        return "a collective"
    return f"{node.op.label()} `{node.name}` (made at {node.site})"


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True)


def _shapes(arrays, gather: bool) -> list:
    return [tuple(a.shape[1:]) if gather else tuple(a.shape) for a in arrays]


def record(kind, arrays, reduction=None, root=-1, rows=0, gather=False) -> np.ndarray:
    """This rank's rendezvous record for a collective on ``arrays``."""
    shapes = _shapes(arrays, gather)
    return np.array([KINDS[kind], REDUCTIONS[reduction], root, _digest(arrays[0].dtype.str), len(arrays),
                     sum(math.prod(s) for s in shapes), _digest(repr(shapes)), rows], np.int64)


def describe(kind, arrays, reduction=None, root=-1, gather=False) -> str:
    """The same facts as ``record``, in words (exchanged only when records disagree)."""
    how = f"op={reduction}" if reduction else f"root={root}" if root >= 0 else ""
    shapes = [("?",) + s for s in _shapes(arrays, True)] if gather else _shapes(arrays, False)
    listed = ", ".join(str(s) for s in shapes[:6]) + (f", ... ({len(shapes)} tensors)" if len(shapes) > 6 else "")
    return f"{kind}({how}) of {arrays[0].dtype} [{listed}]"


def wait(ctx, request, node) -> None:
    """Poll ``request`` until it completes; fail on a peer's failure note or the deadline."""
    start = time.monotonic()
    deadline, warned, polls = start + ctx.timeout, False, 0
    while not request.Test():
        polls += 1
        now = time.monotonic()
        if polls % 16 == 0:
            failure = peer_failure(ctx)
            if failure is not None:
                ctx.broken = True
                raise PeerFailedError(f"rank {failure[0]} failed with {failure[1]}; {ctx.describe()} stops too "
                                      f"(it was waiting at {where(node)})")
            if now > deadline:
                ctx.broken = True
                raise CollectiveTimeoutError(
                    f"{where(node)} on {ctx.describe()}: not every rank reached it within {ctx.timeout:g} s. "
                    f"Another rank may be stuck or dead, run a different graph, or have fewer batches "
                    f"(shard the data evenly, e.g. graphflow.keras.distributed.shard). The limit is "
                    f"init(timeout=...) or GRAPHFLOW_COLLECTIVE_TIMEOUT.")
            if not warned and now - start > min(STALL_WARNING, ctx.timeout / 2):
                warned = True
                sys.stderr.write(f"graphflow.distributed: {ctx.describe()} has waited {now - start:.0f} s at "
                                 f"{where(node)} for the other ranks\n")
        if now - start > SPIN_SECONDS:
            time.sleep(min(1e-3, (now - start) / 50))
    ctx.stats.wait_seconds += time.monotonic() - start


def rendezvous(ctx, node, kind, arrays, reduction=None, root=-1, rows=0, gather=False) -> np.ndarray:
    """Meet the other ranks at this collective (see the module docstring); returns every
    rank's row count."""
    mine = record(kind, arrays, reduction, root, rows, gather)
    records = np.empty((ctx.size, RECORD), np.int64)
    wait(ctx, ctx.comm.Iallgather(mine, records), node)
    differ = [r for r in range(ctx.size) if (records[r, :ROWS] != records[0, :ROWS]).any()]
    if differ:
        _mismatch(ctx, node, describe(kind, arrays, reduction, root, gather), differ)
    return records[:, ROWS].copy()


def _mismatch(ctx, node, text: str, differ: list):
    mine = np.zeros(DESCRIPTION, np.uint8)
    raw = f"{text} at {where(node)}".encode()[:DESCRIPTION]
    mine[:len(raw)] = np.frombuffer(raw, np.uint8)
    texts = np.empty((ctx.size, DESCRIPTION), np.uint8)
    wait(ctx, ctx.comm.Iallgather(mine, texts), node)
    lines = [f"  rank {r}: {bytes(texts[r]).rstrip(bytes(1)).decode(errors='replace')}" for r in range(ctx.size)]
    ranks = ", ".join(str(r) for r in differ)
    raise CollectiveMismatchError(
        f"{where(node)} on {ctx.describe()}: the ranks disagree on this collective (rank{'s' * (len(differ) > 1)} "
        f"{ranks} differ{'s' * (len(differ) == 1)} from rank 0):\n" + "\n".join(lines) +
        "\nEvery rank must build the same graph and run its collectives in the same order, with the same "
        "shapes and dtypes (see docs/distributed.md, 'When ranks disagree').")


# ---------------------------------------------------------------- packing
def pack(arrays, dtype) -> np.ndarray:
    """One contiguous buffer holding every array, flattened, in order."""
    buf = np.empty(sum(a.size for a in arrays), dtype)
    offset = 0
    for a in arrays:
        buf[offset:offset + a.size] = a.reshape(-1)
        offset += a.size
    return buf


def unpack(buf, shapes) -> list:
    """Views of ``buf`` with ``shapes``, in order (the inverse of ``pack``)."""
    out, offset = [], 0
    for s in shapes:
        n = math.prod(s)
        out.append(buf[offset:offset + n].reshape(s))
        offset += n
    return out


def check_rows(g, rows, node) -> None:
    """A reduce-scatter's input must hold every rank's rows."""
    if int(rows.sum()) != g.shape[0]:
        raise ValueError(f"{where(node)}: the gradient has {g.shape[0]} rows but the ranks' inputs have "
                         f"{int(rows.sum())} ({', '.join(str(int(r)) for r in rows)})")


def _check_root(ctx, root, node):
    if not 0 <= root < ctx.size:
        raise ValueError(f"{where(node)}: root {root} is not a rank of this job of {ctx.size}")


def _transfer(ctx, call, nbytes: int):
    start = time.monotonic()
    call()
    ctx.stats.transfer_seconds += time.monotonic() - start
    ctx.stats.bytes += nbytes
    ctx.stats.collectives += 1


def _op(ctx, reduction):
    MPI = ctx.MPI
    return {"mean": MPI.SUM, "sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[reduction]


# ---------------------------------------------------------------- the collectives
def _packed(kind, arrays, node, met, move, **record) -> list:
    """Pack ``arrays`` into one buffer, meet the other ranks, ``move(ctx, buf)`` it in
    place; returns views of the buffer shaped like ``arrays``."""
    ctx = current()
    arrays = [np.asarray(a) for a in arrays]
    buf = pack(arrays, arrays[0].dtype)
    if ctx.size > 1:
        if not met:
            rendezvous(ctx, node, kind, arrays, **record)
        _transfer(ctx, lambda: move(ctx, buf), buf.nbytes)
    return unpack(buf, [a.shape for a in arrays])


def allreduce(arrays, reduction="mean", node=None, met=False) -> list:
    """Every array reduced over the ranks (one packed exchange); new arrays."""
    def move(ctx, buf):
        ctx.comm.Allreduce(ctx.MPI.IN_PLACE, buf, op=_op(ctx, reduction))
        if reduction == "mean":
            np.divide(buf, ctx.size, out=buf, casting="unsafe")
    return _packed("allreduce", arrays, node, met, move, reduction=reduction)


def broadcast(arrays, root=0, node=None, met=False) -> list:
    """Rank ``root``'s arrays on every rank; new arrays."""
    _check_root(current(), root, node)
    return _packed("broadcast", arrays, node, met, lambda ctx, buf: ctx.comm.Bcast(buf, root=root), root=root)


def reduce(arrays, root=0, node=None, met=False) -> list:
    """The sum over ranks of every array on rank ``root``; zeros on the other ranks."""
    def move(ctx, buf):
        MPI = ctx.MPI
        if ctx.rank == root:
            ctx.comm.Reduce(MPI.IN_PLACE, buf, op=MPI.SUM, root=root)
        else:
            ctx.comm.Reduce(buf, None, op=MPI.SUM, root=root)
            buf[...] = 0
    _check_root(current(), root, node)
    return _packed("reduce", arrays, node, met, move, root=root)


def allgather(array, node=None, rows=None) -> np.ndarray:
    """Every rank's ``array`` stacked along axis 0 in rank order (row counts may differ)."""
    ctx = current()
    x = np.ascontiguousarray(array)
    if ctx.size == 1:
        return x.copy()
    if rows is None:
        rows = rendezvous(ctx, node, "allgather", [x], rows=x.shape[0], gather=True)
    row = math.prod(x.shape[1:])
    out = np.empty((int(rows.sum()),) + x.shape[1:], x.dtype)
    counts = [int(r) * row for r in rows]
    _transfer(ctx, lambda: ctx.comm.Allgatherv(x, [out, counts]), x.nbytes)
    return out


def reduce_scatter(g, like_rows: int, node=None, rows=None) -> np.ndarray:
    """The sum over ranks of ``g`` (every rank's rows stacked in rank order); this rank
    keeps its own ``like_rows`` rows."""
    ctx = current()
    g = np.ascontiguousarray(g)
    if rows is None:
        rows = rendezvous(ctx, node, "reduce_scatter", [g], rows=like_rows) if ctx.size > 1 \
            else np.array([like_rows])
    check_rows(g, rows, node)
    if ctx.size == 1:
        return g.copy()
    row = math.prod(g.shape[1:])
    out = np.empty((like_rows,) + g.shape[1:], g.dtype)
    counts = [int(r) * row for r in rows]
    _transfer(ctx, lambda: ctx.comm.Reduce_scatter(g, out, recvcounts=counts, op=ctx.MPI.SUM), g.nbytes)
    return out
