"""numba for the NumPy backend's hot loops: optional, compiled lazily, cached on disk.

Loop modules (``*_loops.py``) are NumPy-only and imported only through ``loops(name)``,
which returns ``None`` when numba is missing, fails to import, or ``GRAPHFLOW_NUMBA=0``;
their callers then take the ``xp`` path every backend shares. Inside a loop module,
``jit`` is numba's ``njit`` with ``nogil=True`` (parts run on several threads) and
``cache=True``: a loop compiles on its first call with a given argument-type signature
and the machine code is kept on disk, so a later process loads it instead of compiling.

Where the cache lives is numba's choice (``NUMBA_CACHE_DIR`` if set, else
``__pycache__`` beside the source, else the user's cache directory); where none of
those is writable (a read-only install and home), the loop is compiled without a cache.
``compile_report()`` lists every loop compiled or loaded in this process and its cost.

    >>> mod = loops("pool_loops")          # None without numba
"""
from __future__ import annotations

import importlib
import os
import threading
import time
from dataclasses import dataclass

_lock = threading.Lock()
_numba: list = []          # [module or None], filled on first use
_reason: list = [""]
_modules: dict = {}
_stats: dict = {}          # loop name -> LoopStats


def numba_module():
    """The numba module, or None (``numba_reason()`` says why)."""
    with _lock:
        if not _numba:
            if os.environ.get("GRAPHFLOW_NUMBA", "1").strip().lower() in ("0", "off", "false", "no"):
                _reason[0] = "disabled by GRAPHFLOW_NUMBA"
                _numba.append(None)
            else:
                try:
                    _numba.append(importlib.import_module("numba"))
                except Exception as exc:  # missing, or broken against this NumPy
                    _reason[0] = f"numba did not import: {exc}"
                    _numba.append(None)
        return _numba[0]


def numba_reason() -> str:
    numba_module()
    return _reason[0]


def loops(name: str):
    """The loop module ``graphflow_numpy.kernels.<name>`` when numba is usable, else None."""
    if numba_module() is None:
        return None
    mod = _modules.get(name)
    if mod is None:
        mod = _modules[name] = importlib.import_module(f"{__package__}.{name}")
    return mod


@dataclass
class LoopStats:
    """What one loop cost: signatures compiled or loaded, seconds in those first calls,
    and whether the on-disk cache served them."""
    name: str
    signatures: int = 0
    seconds: float = 0.0
    from_cache: int = 0
    cached: bool = True


def jit(fn=None, **options):
    """``numba.njit(nogil=True, cache=True, error_model="numpy", **options)``, falling back
    to no cache where no cache directory is writable. Use only in loop modules (numba
    must be importable). The NumPy error model (no ZeroDivisionError checks) keeps the
    machine code, and its compile time, smaller."""
    if fn is None:
        return lambda f: jit(f, **options)
    numba = numba_module()
    opts = dict(nogil=True, cache=True, error_model="numpy")
    opts.update(options)
    try:
        dispatcher = numba.njit(**opts)(fn)
        cached = opts["cache"]
    except RuntimeError:  # "cannot cache function ...: no locator available"
        opts["cache"] = False
        dispatcher = numba.njit(**opts)(fn)
        cached = False
    if options.get("inline") == "always":
        return dispatcher  # only ever compiled into its callers
    return _Timed(dispatcher, LoopStats(f"{fn.__module__.rpartition('.')[2]}.{fn.__name__}", cached=cached))


class _Timed:
    """A compiled loop that records the cost of each new signature's first call (once,
    though several threads may have waited for that compile)."""

    def __init__(self, dispatcher, stats: LoopStats):
        self.dispatcher, self.stats = dispatcher, stats
        self._seen = self._hits = 0
        _stats[stats.name] = stats

    def __call__(self, *args):
        d = self.dispatcher
        known = len(d.overloads)
        t0 = time.perf_counter()
        out = d(*args)
        if len(d.overloads) != known:
            with _lock:
                new = len(d.overloads) - self._seen
                if new > 0:
                    s = self.stats
                    s.seconds += time.perf_counter() - t0
                    s.signatures += new
                    hits = sum(d.stats.cache_hits.values())
                    s.from_cache += hits - self._hits
                    self._seen, self._hits = len(d.overloads), hits
        return out


def compile_report() -> list:
    """One ``LoopStats`` per loop used in this process (compiled or loaded from the cache)."""
    return [s for s in _stats.values() if s.signatures]


def compile_seconds() -> float:
    """Seconds spent compiling or loading loops in this process so far."""
    return sum(s.seconds for s in _stats.values())
