"""Splitting one kernel call over the CPU's cores with threads.

NumPy releases the GIL inside BLAS and large copies, and numba loops compiled with
``nogil=True`` release it too, so a batch split into one contiguous part per core runs
on every core from plain Python threads. Each part calls single-threaded BLAS: two BLAS
thread pools fighting over two cores measured slower than one thread per part.

    >>> parts(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    >>> run_parts(lambda lo, hi: sum(range(lo, hi)), 10)    # one result per part, in order
    [6, 15, 24]

``GRAPHFLOW_NUM_THREADS`` caps the thread count (default: the cores this process may use).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext


def thread_count() -> int:
    """How many threads one kernel call may use."""
    env = os.environ.get("GRAPHFLOW_NUM_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"GRAPHFLOW_NUM_THREADS must be a positive integer, got {env!r}") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_for(cpu: bool) -> int:
    """Threads for a kernel: the CPU's for the NumPy backend's (``cpu``: host arrays), one
    for the portable kernels a device library runs (its work is queued on one stream)."""
    return thread_count() if cpu else 1


def parts(n: int, k: int) -> list:
    """``n`` items cut into ``min(n, k)`` contiguous ``(start, stop)`` parts of near-equal size."""
    k = max(1, min(n, k))
    cuts = [n * i // k for i in range(k + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(k)]


_pool: list = [None, 0]  # [the executor, its worker count] (ours: not its private field)
_pool_lock = threading.Lock()
_busy = threading.local()  # set inside a part: nested calls run serially


def _forget_pool():
    """A forked child inherits the pool object but not its threads: make a new one there."""
    _pool[:] = [None, 0]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _submit_all(fn, cuts) -> list:
    """Futures of ``fn(a, b)`` for every ``(a, b)`` in ``cuts``, submitted under the pool
    lock: a call that grows the pool shuts the old one down only after every call that
    was handed it has submitted (its queued parts still run to the end)."""
    with _pool_lock:
        ex, size = _pool
        if ex is None or size < len(cuts):
            if ex is not None:
                ex.shutdown(wait=False)
            ex = ThreadPoolExecutor(max_workers=len(cuts), thread_name_prefix="graphflow-kernel")
            _pool[:] = [ex, len(cuts)]
        return [ex.submit(_in_part, fn, a, b) for a, b in cuts]


def run_parts(fn, n: int, threads: int | None = None, blas: bool = True) -> list:
    """``[fn(start, stop) for each part of range(n)]``, the parts run at the same time (the
    last one on the calling thread), each with single-threaded BLAS (also with one
    thread: many small GEMMs lose to a BLAS pool's wake-ups; ``blas=False`` for parts
    that call no BLAS leaves its thread count alone). Which items go to which part
    depends only on ``n`` and the thread count, so results are reproducible. A call
    from inside a part runs serially."""
    k = thread_count() if threads is None else threads
    if getattr(_busy, "on", False) or n <= 1:
        return [fn(0, n)] if n else []
    limit = blas_threads(1) if blas else nullcontext()
    if k <= 1:
        with limit:
            return [fn(0, n)]
    cuts = parts(n, k)
    with limit:
        futures = _submit_all(fn, cuts[:-1])
        try:
            last = _in_part(fn, *cuts[-1])
        finally:
            wait(futures)  # no part outlives the call, even when one failed
        return [f.result() for f in futures] + [last]


def _in_part(fn, a, b):
    _busy.on = True
    try:
        return fn(a, b)
    finally:
        _busy.on = False


# ---------------------------------------------------------------- BLAS thread count
_blas: list = [None]
_blas_lock = threading.Lock()
_blas_depth = [0]


def _blas_libs() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded in this process ([] when
    threadpoolctl is missing: then BLAS keeps its own thread count)."""
    if _blas[0] is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas[0] = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # threadpoolctl missing or unable to read this process: leave BLAS be
            _blas[0] = []
    return _blas[0]


@contextmanager
def blas_threads(n: int):
    """BLAS limited to ``n`` threads inside the block (the outermost block decides, and the
    count in force before it comes back at its end)."""
    libs = _blas_libs()
    with _blas_lock:
        _blas_depth[0] += 1
        first = _blas_depth[0] == 1
        before = [lib.num_threads for lib in libs] if first else None
        if first:
            for lib in libs:
                lib.set_num_threads(n)
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth[0] -= 1
            if first:
                for lib, m in zip(libs, before):
                    lib.set_num_threads(m)


# ---------------------------------------------------------------- loops: many small calls
_loop = threading.local()  # how many loops this thread is running (graphflow.runtime.loops)


@contextmanager
def in_loop():
    """Inside a loop's iterations (``NumpyBackend.loop_scope``): single-threaded BLAS, and
    kernels raise the size from which they split a call over threads (``split_factor``)."""
    _loop.depth = getattr(_loop, "depth", 0) + 1
    try:
        with blas_threads(1):
            yield
    finally:
        _loop.depth -= 1


def split_factor() -> int:
    """How much bigger a call must be to be split over threads in this context: 8 inside
    a loop (a hand-off per step costs more than it saves on a product a few times the
    usual threshold), 1 elsewhere."""
    return 8 if getattr(_loop, "depth", 0) else 1


# ---------------------------------------------------------------- sums over parts
class GemmSum:
    """``sum of a_i @ b_i`` over one part's work units, into one array (the first product
    allocates it; later ones go through one reused buffer)."""

    def __init__(self, xp):
        self.xp, self.total, self._step = xp, None, None

    def add(self, a, b):
        if self.total is None:
            self.total = self.xp.matmul(a, b)
            self._step = self.xp.empty_like(self.total)
        else:
            self.xp.matmul(a, b, out=self._step)
            self.total += self._step


def sum_parts(fn, n: int, threads: int | None = None):
    """``run_parts(fn, n, threads)`` for parts that each return a partial sum (None for
    none), added in part order: the same partition gives the same bits."""
    partials = [p for p in run_parts(fn, n, threads) if p is not None]
    total = partials[0]
    for p in partials[1:]:
        total += p
    return total
