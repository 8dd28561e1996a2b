"""Compiled loops for NumPy-backend kernels, with numba when it is installed.

A kernel whose NumPy formulation would make many passes over memory (Philox rounds,
Winograd transforms) writes its inner loop as a plain Python function and wraps it with
``loop``. numba compiles it on first use (``nogil``: threads run it in parallel) and caches
the machine code on disk (beside the source, or in numba's per-user cache when the
install is read-only), so only the first process on a machine pays the compile. What each
loop cost to compile or load is kept in ``STATS`` for ``f.report()``/``f.profile()``.
Without numba, ``loop`` returns None and the kernel keeps its array formulation.

    >>> fill = loop(_philox_fill)          # None without numba
    >>> if fill is not None: fill(out, k0, k1, c_lo, c_hi)
"""
from __future__ import annotations

import functools
import os
import threading
import time

STATS: dict = {}        # loop name -> {"seconds": first-call seconds, "cache": "hit"/"miss"}
_lock = threading.Lock()
_numba = []             # [module or None], resolved on first use


def _module():
    if not _numba:
        if os.environ.get("GRAPHFLOW_NO_JIT", "") not in ("", "0"):
            _numba.append(None)
        else:
            try:
                import numba
                _numba.append(numba)
            except ImportError:
                _numba.append(None)
    return _numba[0]


def available() -> bool:
    """Whether compiled loops are in use (numba importable and not switched off with
    ``GRAPHFLOW_NO_JIT=1``)."""
    return _module() is not None


def loop(fn):
    """``fn`` compiled with numba (cached on disk, GIL released), or None without numba."""
    numba = _module()
    if numba is None:
        return None
    compiled = numba.njit(cache=True, nogil=True)(fn)
    name = fn.__qualname__
    first = []

    @functools.wraps(fn)
    def run(*args):
        if first:
            return compiled(*args)
        with _lock:
            t0 = time.perf_counter()
            result = compiled(*args)
            if not first:
                hits = sum(compiled.stats.cache_hits.values())
                STATS[name] = {"seconds": time.perf_counter() - t0, "cache": "hit" if hits else "miss"}
                first.append(True)
        return result
    return run
