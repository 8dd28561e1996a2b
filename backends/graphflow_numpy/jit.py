"""Compiled loops for NumPy-backend kernels, with numba when it is installed.

A kernel whose NumPy formulation would make many passes over memory (Philox rounds,
Winograd transforms) writes its inner loop as a plain Python function and wraps it with
``loop`` (or keeps several in a module of plain functions and takes them all with
``loops``). numba compiles it on first use (``nogil``: threads run it in parallel;
``error_model="numpy"``: no division checks, smaller code) and caches the machine code on
disk, so only the first process on a machine pays the compile. numba's cache files are
pickles, so they go only to graphflow's private cache directory
(``graphflow.utils.private_dir``: ``$GRAPHFLOW_CACHE_DIR``, ``$XDG_CACHE_HOME/graphflow``
or ``~/.cache/graphflow``, sub-directory ``numba``; ``NUMBA_CACHE_DIR`` and the folders
beside the sources are not used for our loops); where that directory is missing, not
private or not writable, loops compile uncached. What each loop cost to compile or load is kept in
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

from graphflow.utils.private_dir import private_dir

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
    compiled = numba.njit(nogil=True, error_model="numpy")(fn)
    cache = _private_cache(fn)
    if cache is not None:  # what njit(cache=True) does, with our locator instead of numba's
        compiled._cache = cache
    cached = cache is not None
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


def _private_cache(fn):
    """A numba ``FunctionCache`` for ``fn`` kept in the private ``numba`` cache directory,
    or None (no private directory, or ``fn`` has no source file: compiled in memory)."""
    folder = private_dir("numba")
    if folder is None:
        return None
    try:
        return _cache_class(folder)(fn)
    except (RuntimeError, OSError):  # no locator: the source is not a file, or the folder is unusable
        return None
    except (ImportError, AttributeError):  # a numba whose cache internals moved: compile uncached
        return None


@functools.lru_cache(maxsize=None)
def _cache_class(folder):
    from numba.core import caching

    class PrivateLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
        """numba's cache for one source file, in ``folder`` (as numba's locator for
        ``NUMBA_CACHE_DIR`` lays it out)."""

        def __init__(self, py_func, py_file):
            self._py_file, self._lineno = py_file, py_func.__code__.co_firstlineno
            self._sub = self.get_suitable_cache_subpath(py_file)
            self._cache_path = os.path.join(folder, self._sub)

        def get_cache_path(self):
            return self._cache_path

        def ensure_cache_path(self):
            # checked (and made 0700) at every use: the folder may have changed hands since
            if private_dir("numba", self._sub) != self._cache_path:
                raise OSError(f"{self._cache_path!r} is not private")
            super().ensure_cache_path()

    class Impl(caching.CompileResultCacheImpl):
        _locator_classes = [PrivateLocator]

    class PrivateFunctionCache(caching.FunctionCache):
        _impl_class = Impl

    return PrivateFunctionCache


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
