"""The CuPy side of the backend: CuPy imported on first use, each source compiled once
(NVRTC through ``cupy.RawModule``; CuPy also keeps the binary in its disk cache), and
kernel launches with a grid-stride loop.

Launches go to CuPy's current stream and never wait for the GPU; only ``to_host``
(feeds back, fetches, ``get_value``) synchronises.

    >>> fn = static(kernel, "float32", np.int32)          # gf_im2col<float, int>
    >>> each(fn, n, np.int32, x, cols, *geometry)         # one thread per element
"""
from __future__ import annotations

import threading
import time

import numpy as np

from .source import NVRTC_OPTIONS, static_kernels, static_source

BLOCK = 256                  # threads per block
WAVES = 16                   # grid-stride loops start at most this many blocks per SM
INT32_SAFE = 2**31 - 2**24   # indices (plus one grid stride) below this fit a 32-bit int

_lock = threading.Lock()
_state: dict = {}


def cupy():
    """The ``cupy`` module (imported on first use, so the backend loads without it)."""
    mod = _state.get("cupy")
    if mod is None:
        import cupy as mod
        _state["cupy"] = mod
    return mod


def sm_count() -> int:
    n = _state.get("sms")
    if n is None:
        n = _state["sms"] = int(cupy().cuda.Device().attributes["MultiProcessorCount"])
    return n


def blocks(threads: int) -> int:
    """Blocks for ``threads`` threads (at least one; capped, the kernels loop)."""
    return max(1, min(-(-threads // BLOCK), sm_count() * WAVES))


def index_type(*extents):
    """``np.int32`` when every index a kernel forms stays below ``INT32_SAFE``, else ``np.int64``."""
    return np.int32 if max(extents, default=0) < INT32_SAFE else np.int64


_modules: dict = {}
_functions: dict = {}
STATS: dict = {}   # kernel name -> {"seconds": first get_function, "cache": "hit" | "miss"}
CACHE_HIT_SECONDS = 0.02   # NVRTC takes longer than this; loading CuPy's disk-cached cubin does not


def _get(mod, name):
    """``mod.get_function(name)``, its first-use cost recorded in ``STATS``."""
    t0 = time.perf_counter()
    fn = mod.get_function(name)
    seconds = time.perf_counter() - t0
    STATS[name] = {"seconds": seconds, "cache": "hit" if seconds < CACHE_HIT_SECONDS else "miss"}
    return fn


def module(source: str, names: tuple = ()):
    """A ``cupy.RawModule`` for ``source`` (with C++ ``names`` to instantiate), made once."""
    key = (source, names)
    mod = _modules.get(key)
    if mod is None:
        with _lock:
            mod = _modules.get(key)
            if mod is None:
                mod = _modules[key] = cupy().RawModule(code=source, options=NVRTC_OPTIONS,
                                                        name_expressions=list(names) or None)
    return mod


def function(source: str, name: str):
    """The kernel ``name`` (an ``extern "C"`` function) of ``source``."""
    key = (source, name)
    fn = _functions.get(key)
    if fn is None:
        fn = _functions[key] = _get(module(source), name)
    return fn


def static(kernel, dtype, index):
    """The ``(dtype, index)`` instantiation of a hand-written kernel (``source.StaticKernel``);
    its file is compiled with the same instantiation of every kernel it declares."""
    dtype, index = np.dtype(dtype), np.dtype(index)
    key = (kernel.name, dtype.name, index.name)
    fn = _functions.get(key)
    if fn is None:
        names = tuple(k.instance(dtype, index) for k in static_kernels(kernel.file))
        fn = _functions[key] = _get(module(static_source(kernel.file), names), kernel.instance(dtype, index))
    return fn


def each(fn, n: int, index, *args) -> None:
    """Launch a one-thread-per-element kernel over ``n`` elements."""
    if n:
        fn((blocks(n),), (BLOCK,), (index(n), *args))


def rows(fn, n: int, index, *args) -> None:
    """Launch a one-warp-per-row kernel over ``n`` rows."""
    if n:
        fn((blocks(32 * n),), (BLOCK,), (index(n), *args))


def same_view(a, b) -> bool:
    """Whether ``a`` and ``b`` are the same elements in the same layout (two view
    objects of one planned buffer, say): a one-pass kernel may read one and write the
    other."""
    pa = a.data.ptr if hasattr(a.data, "ptr") else a.ctypes.data   # CuPy, or NumPy (the host tests)
    pb = b.data.ptr if hasattr(b.data, "ptr") else b.ctypes.data
    return pa == pb and a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype


def scalars(index, *values) -> tuple:
    """Python ints as the kernel's index type (RawKernel passes NumPy scalars by value)."""
    return tuple(index(v) for v in values)
