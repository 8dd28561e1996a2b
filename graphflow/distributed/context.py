"""The process's place in the job: the MPI communicators, its rank, the timeouts, and
what happens when a rank fails.

``init()`` imports mpi4py (never earlier: graphflow runs single-process without MPI) and
makes three communicators, each a duplicate of the job's (``COMM_WORLD`` by default):
``comm`` for the collectives, ``notes`` for failure notes, and ``local`` (the ranks on
this machine) for ``local_rank``/``local_size``. Kernels reach the context through
``current()``; there is one per process.

When an exception reaches the top of a rank (``sys.excepthook``), that rank sends a
note to every other rank — which raise ``PeerFailedError`` at their next wait for a
collective — and after a short grace period calls ``MPI_Abort``, so no rank is left
waiting forever.
"""
from __future__ import annotations

import atexit
import math
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field

from .errors import (INSTALL_HINT, CollectiveMismatchError, MPIUnavailableError, NotInitializedError,
                     PeerFailedError)

DEFAULT_TIMEOUT = 300.0   # seconds a rank waits at a collective for the others
STALL_WARNING = 60.0      # seconds after which a waiting rank says what it waits for (Horovod's default)
FAILURE_GRACE = 5.0       # seconds a failing rank leaves the others to report before MPI_Abort
NOTE_TAG = 7401


@dataclass
class Stats:
    """Counters since ``init`` (or ``reset_stats``): collectives run, payload bytes this
    rank sent into them, seconds waiting for the other ranks to arrive, seconds moving data."""
    collectives: int = 0
    bytes: int = 0
    wait_seconds: float = 0.0
    transfer_seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"collectives": self.collectives, "bytes": self.bytes,
                "wait_seconds": self.wait_seconds, "transfer_seconds": self.transfer_seconds}


@dataclass
class Context:
    """One process's MPI state (see the module docstring)."""
    MPI: object
    comm: object
    notes: object
    local: object
    rank: int
    size: int
    local_rank: int
    local_size: int
    timeout: float
    grace: float
    broken: bool = False          # a collective was left pending: only MPI_Abort can end the job
    stats: Stats = field(default_factory=Stats)
    device: dict = field(default_factory=dict)  # per-device state of graphflow.distributed.device
    pending_notes: list = field(default_factory=list)  # failure notes in flight (kept alive until sent)

    def describe(self) -> str:
        return f"rank {self.rank} of {self.size} on {socket.gethostname()}"


_current: list = [None]
_lock = threading.Lock()
_hooks_installed = [False]


def _import_mpi():
    """mpi4py's MPI module, or an MPIUnavailableError naming the missing piece."""
    try:
        import mpi4py
    except ImportError:
        raise MPIUnavailableError(f"graphflow.distributed needs mpi4py, which is not installed: "
                                  f"{INSTALL_HINT}") from None
    try:
        mpi4py.rc.initialize = True
        from mpi4py import MPI
    except (ImportError, RuntimeError, OSError) as exc:
        detail = str(exc).strip().replace("\n", "; ")
        raise MPIUnavailableError(f"mpi4py {getattr(mpi4py, '__version__', '?')} is installed but cannot load an "
                                  f"MPI library ({detail}): {INSTALL_HINT}") from None
    return MPI


def _seconds(value, env, default) -> float:
    """A deadline in seconds from the argument, else ``env``, else ``default``: a finite
    number above zero. NaN would compare false with every elapsed time (no deadline at
    all), inf never expires, and both are refused here, before MPI starts."""
    source = "the argument" if value is not None else (env if os.environ.get(env) else "the default")
    if value is None:
        value = os.environ.get(env) or default
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{env} must be a number of seconds, got {value!r} (from {source})") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{env} must be a finite number of seconds above 0, got {value!r} (from {source}); "
                         f"a NaN, infinite or non-positive timeout would never end a stuck collective")
    return seconds


def init(timeout=None, comm=None, abort_on_error=True) -> None:
    """Join the MPI job this process was started in (``mpirun -n 2 python train.py``);
    a process started without ``mpirun`` is a job of one. Safe to call again.

    - ``timeout``: seconds a rank waits at a collective for the others before failing
      (default 300, or ``GRAPHFLOW_COLLECTIVE_TIMEOUT``);
    - ``comm``: an mpi4py communicator to run on instead of ``COMM_WORLD``;
    - ``abort_on_error``: install the hook that tells the other ranks when this one
      fails and then ends the job (``MPI_Abort``) instead of leaving it hanging.

    >>> import graphflow.distributed as dist
    >>> dist.init(); print(dist.rank(), dist.size())
    0 1
    """
    with _lock:
        if _current[0] is not None:
            return
        timeout = _seconds(timeout, "GRAPHFLOW_COLLECTIVE_TIMEOUT", DEFAULT_TIMEOUT)
        grace = _seconds(None, "GRAPHFLOW_FAILURE_GRACE", FAILURE_GRACE)
        MPI = _import_mpi()
        base = comm if comm is not None else MPI.COMM_WORLD
        local = base.Split_type(MPI.COMM_TYPE_SHARED)
        ctx = Context(MPI=MPI, comm=base.Dup(), notes=base.Dup(), local=local, rank=base.Get_rank(),
                      size=base.Get_size(), local_rank=local.Get_rank(), local_size=local.Get_size(),
                      timeout=timeout, grace=grace)
        _current[0] = ctx
        if abort_on_error and not _hooks_installed[0]:
            _hooks_installed[0] = True
            sys.excepthook = _make_excepthook(sys.excepthook)
            atexit.register(_abort_if_broken)


def shutdown() -> None:
    """Leave the job's communicators (MPI itself stays up until the process exits)."""
    with _lock:
        ctx, _current[0] = _current[0], None
    if ctx is not None and not ctx.broken:
        for c in (ctx.comm, ctx.notes, ctx.local):
            c.Free()


def is_initialized() -> bool:
    """Whether ``init()`` was called (and not undone by ``shutdown()``)."""
    return _current[0] is not None


def current() -> Context:
    """The context of this process; a NotInitializedError before ``init()``."""
    ctx = _current[0]
    if ctx is None:
        raise NotInitializedError("graphflow.distributed is not initialised: call graphflow.distributed.init() "
                                  "first (in every process, before building the model)")
    return ctx


def rank() -> int:
    """This process's rank, 0 .. size() - 1."""
    return current().rank


def size() -> int:
    """The number of processes in the job."""
    return current().size


def local_rank() -> int:
    """This process's rank among those on the same machine (pick a GPU with it)."""
    return current().local_rank


def local_size() -> int:
    """The number of processes on this machine."""
    return current().local_size


def stats() -> dict:
    """This rank's collective counters: ``collectives``, ``bytes``, ``wait_seconds``
    (waiting for the other ranks to arrive) and ``transfer_seconds`` (moving data)."""
    return current().stats.as_dict()


def reset_stats() -> None:
    current().stats = Stats()


# ---------------------------------------------------------------- failures
def _make_excepthook(previous):
    def hook(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        ctx = _current[0]
        if ctx is None or ctx.size == 1:
            return
        # every rank raises a mismatch itself; a peer failure was told by the failed rank
        if not issubclass(exc_type, (PeerFailedError, CollectiveMismatchError)):
            _tell_peers(ctx, f"{exc_type.__name__}: {exc}")
            _wait(ctx, ctx.grace)  # the peers that see the note end the job sooner
        sys.stderr.write(f"graphflow.distributed: {ctx.describe()} ends the job (MPI_Abort) after the error above\n")
        sys.stderr.flush()
        ctx.comm.Abort(1)
    return hook


def _tell_peers(ctx, text: str) -> None:
    """Send every other rank a failure note (they raise PeerFailedError when they see it)."""
    note = f"{text} ({ctx.describe()})"
    ctx.pending_notes = [ctx.notes.isend(note, dest=r, tag=NOTE_TAG) for r in range(ctx.size) if r != ctx.rank]


def _wait(ctx, seconds: float) -> None:
    """Keep the failure notes moving for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ctx.MPI.Request.Testall(ctx.pending_notes)
        time.sleep(0.02)


def _abort_if_broken() -> None:
    """At exit: a rank that left a collective pending would hang in MPI_Finalize."""
    ctx = _current[0]
    if ctx is not None and ctx.broken and ctx.size > 1:
        sys.stderr.write(f"graphflow.distributed: {ctx.describe()} exits with a collective left pending; "
                         f"ending the job (MPI_Abort)\n")
        sys.stderr.flush()
        ctx.comm.Abort(1)


def peer_failure(ctx):
    """The first failure note another rank sent, as ``(rank, text)``, or None."""
    MPI = ctx.MPI
    status = MPI.Status()
    if not ctx.notes.Iprobe(source=MPI.ANY_SOURCE, tag=NOTE_TAG, status=status):
        return None
    source = status.Get_source()
    return source, ctx.notes.recv(source=source, tag=NOTE_TAG)
