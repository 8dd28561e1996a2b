"""Compiled loops for NumPy-backend kernels, with numba when it is installed.

A kernel whose NumPy formulation would make many passes over memory (Philox rounds,
Winograd transforms) writes its inner loop as a plain Python function and wraps it with
``loop`` (or keeps several in a module of plain functions and takes them all with
``loops``). numba compiles it on first use (``nogil``: threads run it in parallel;
``error_model="numpy"``: no division checks, smaller code) and caches the machine code on
disk (``NUMBA_CACHE_DIR``, else beside the source, else numba's per-user cache when the
install is read-only; where nothing is writable it compiles uncached), so only the first
process on a machine pays the compile. What each loop cost to compile or load is kept in
``STATS`` for ``f.report()``/``f.profile()``. Without numba (or with
``GRAPHFLOW_NO_JIT=1``), ``loop`` and ``loops`` return None and the kernel keeps its
array formulation.

    >>> fill = loop(_philox_fill)          # None without numba
    >>> if fill is not None: fill(out, k0, k1, c_lo, c_hi)
    >>> lp = loops(winograd_loops)         # lp.input_tiles(...), or None
"""
from __future__ import annotations

import functools
import inspect
import os
import threading
import time
from types import SimpleNamespace

STATS: dict = {}        # loop name -> {"seconds": first-call seconds, "cache": "hit"/"miss"/"off"}
_lock = threading.Lock()
_numba = []             # [module or None], resolved on first use
_import_lock = threading.Lock()


def _module():
    if not _numba:
        with _import_lock:
            if not _numba:
                _numba.append(_import())
    return _numba[0]


def _import():
    if os.environ.get("GRAPHFLOW_NO_JIT", "") not in ("", "0"):
        return None
    try:
        import numba
        return numba
    except ImportError:
        return None


def available() -> bool:
    """Whether compiled loops are in use (numba importable and not switched off with
    ``GRAPHFLOW_NO_JIT=1``)."""
    return _module() is not None


def loop(fn):
    """``fn`` compiled with numba (cached on disk, GIL released), or None without numba."""
    numba = _module()
    if numba is None:
        return None
    try:
        compiled, cached = numba.njit(cache=True, nogil=True, error_model="numpy")(fn), True
    except RuntimeError:  # "cannot cache function ...: no locator available": nothing writable
        compiled, cached = numba.njit(nogil=True, error_model="numpy")(fn), False
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
                cache = ("hit" if hits else "miss") if cached else "off"
                STATS[name] = {"seconds": time.perf_counter() - t0, "cache": cache}
                first.append(True)
        return result
    return run


_namespaces: dict = {}


def loops(module):
    """Every public function of ``module`` (a module of plain Python loops) through
    ``loop``, as one namespace made once per module; None without numba."""
    if _module() is None:
        return None
    with _lock:
        ns = _namespaces.get(module.__name__)
        if ns is None:
            fns = {n: f for n, f in vars(module).items()
                   if inspect.isfunction(f) and not n.startswith("_") and f.__module__ == module.__name__}
            ns = _namespaces[module.__name__] = SimpleNamespace(**{n: loop(f) for n, f in fns.items()})
        return ns
