"""Checking the CuPy backend's CUDA without a GPU.

- ``nvcc_check(source, stage)``: compile a translation unit with nvcc to device code for
  ``GRAPHFLOW_NVCC_ARCH`` (default sm_90, the H200's): ``"ptx"`` checks syntax, types and
  templates (front end and NVVM); ``"cubin"`` also assembles (ptxas: registers,
  resources), at about three times the cost. Nothing runs.
- ``host_library(source)``: the same source built by the host C++ compiler into a shared
  library; each kernel's per-element function is there as an ``extern "C"`` loop.
- ``on_host(monkeypatch)``: the CuPy backend with the stand-in ``cupy`` of ``host_cupy``
  (device arrays that are not NumPy arrays: an implicit conversion raises TypeError, as
  on a GPU) and those host loops in place of CuPy and the GPU, so its Python launch code
  and its CUDA source run here and can be compared with the NumPy backend.

Compiles are cached by a hash of the source in a temp folder, so a second run is free.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

import graphflow_cupy
import graphflow_numpy
from graphflow_cupy import device
from graphflow_cupy.source import static_kernels, static_source
from host_cupy import HOST_CUPY, DeviceArray

NVCC = shutil.which("nvcc")
CXX = shutil.which("g++") or shutil.which("c++")
ARCH = os.environ.get("GRAPHFLOW_NVCC_ARCH", "sm_90")
CACHE = Path(tempfile.gettempdir()) / f"graphflow-cuda-cache-{os.getuid()}"

needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not on PATH")
needs_cxx = pytest.mark.skipif(CXX is None, reason="no host C++ compiler (g++) on PATH")


def _cached(source: str, suffix: str, command) -> Path:
    """Build ``source`` with ``command(src, out)`` once per content; returns the output."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256((" ".join(command("SRC", "OUT")) + "\n" + source).encode()).hexdigest()[:24]
    out = CACHE / f"{key}{suffix}"
    if out.exists():
        return out
    fd, src = tempfile.mkstemp(suffix=".cu", dir=CACHE)
    with os.fdopen(fd, "w") as f:
        f.write(source)
    tmp = f"{src}{suffix}"
    try:
        done = subprocess.run(command(src, tmp), capture_output=True, text=True, timeout=300)
        if done.returncode:
            numbered = "\n".join(f"{i + 1:5d}  {line}" for i, line in enumerate(source.splitlines()))
            raise AssertionError(f"{command('SRC', 'OUT')[0]} failed:\n{done.stderr[-6000:]}\n--- source ---\n"
                                 f"{numbered[-20000:]}")
        os.replace(tmp, out)
    finally:
        for p in (src, tmp):
            if os.path.exists(p):
                os.unlink(p)
    return out


def nvcc_check(source: str, stage: str = "cubin") -> Path:
    """Compile ``source`` with nvcc to ``stage`` (``"ptx"`` or ``"cubin"``); an
    AssertionError shows the log and the numbered source on failure."""
    from graphflow_cupy.source import NVRTC_OPTIONS
    return _cached(source, f".{stage}", lambda src, out: [NVCC, f"--{stage}", f"-arch={ARCH}", "-std=c++17",
                                                          *NVRTC_OPTIONS, "-x", "cu", "-o", out, src])


def host_library(source: str) -> ctypes.CDLL:
    """``source`` compiled for the CPU (the non-CUDA branches: host loops) and loaded."""
    path = _cached(source, ".so", lambda src, out: [CXX, "-x", "c++", "-std=c++17", "-O1", "-fPIC", "-shared",
                                                    "-w", "-o", out, src])
    return ctypes.CDLL(str(path))


def static_unit(instantiate=()) -> str:
    """One translation unit with every hand-written kernel and, for nvcc, their
    ``instantiate`` variants: ``[(dtype, index dtype)]``."""
    from graphflow_cupy.source import INDEX_TYPES, KERNEL_DTYPES, STATIC_FILES, common, instantiations, read
    parts = [common()] + [read(f) for f in STATIC_FILES]
    kernels = [k for f in STATIC_FILES for k in static_kernels(f)]
    for dtype, index in instantiate:
        parts.append(instantiations(kernels, {dtype: KERNEL_DTYPES[dtype]}, {index: INDEX_TYPES[index]})
                     .replace("gf_instances", f"gf_instances_{dtype}_{index}"))
    return "\n".join(parts)


# ---------------------------------------------------------------- the backend on the host
_CTYPES = {np.dtype(np.int32): ctypes.c_int, np.dtype(np.int64): ctypes.c_longlong,
           np.dtype(np.uint32): ctypes.c_uint, np.dtype(np.float32): ctypes.c_float,
           np.dtype(np.float64): ctypes.c_double}


class HostKernel:
    """Stands in for a ``cupy.RawKernel``: ``fn(grid, block, args)`` calls the host loop.
    ``widen`` passes 32-bit ints as long long (the static kernels' host loops index with
    long long whatever the device index type)."""

    def __init__(self, fn, widen: bool):
        self.fn, self.widen = fn, widen
        self.calls = 0

    def __call__(self, grid, block, args):
        self.calls += 1
        self.fn(*[self._arg(a) for a in args])

    def _arg(self, a):
        if isinstance(a, DeviceArray):
            return ctypes.c_void_p(a.data.ptr)
        if isinstance(a, np.ndarray):   # CuPy's RawKernel refuses host arrays too
            raise TypeError(f"Unsupported type {type(a)}: a kernel argument must be a device array "
                            f"(cupy.asarray it first), not a NumPy array")
        kind = np.dtype(type(a))
        if self.widen and kind == np.int32:
            return ctypes.c_longlong(int(a))
        return _CTYPES[kind](a.item())


class _Later:
    """A kernel asked for during ``collect``: does nothing then, runs the built one after
    (so launch plans cached by a dry run stay usable)."""

    def __init__(self, host, source, name):
        self.host, self.source, self.name = host, source, name

    def __call__(self, grid, block, args):
        if self.host.collected is None:
            self.host.function(self.source, self.name)(grid, block, args)


class HostDevice:
    """Replaces ``graphflow_cupy.device``'s CuPy-facing functions (see ``on_host``).

    Compiling each generated kernel on its own costs a compiler start; ``collect()`` runs
    code with kernels that do nothing, recording their sources, and ``preload()`` then
    builds them all as one library (the values of such a dry run are garbage; the shapes,
    strides and dtypes, which decide the kernels, are not)."""

    def __init__(self):
        self.kernels: dict = {}
        self.libraries: list = []
        self.collected: dict | None = None
        self._static = None

    def function(self, source, name):
        key = (source, name)
        found = self.kernels.get(key)
        if found is not None:
            return found
        if self.collected is not None:
            self.collected[name] = source
            return _Later(self, source, name)
        lib = next((lib for lib in self.libraries if hasattr(lib, f"{name}_host")), None) or host_library(source)
        found = self.kernels[key] = HostKernel(getattr(lib, f"{name}_host"), widen=False)
        return found

    def static(self, kernel, dtype, index):
        if self._static is None:
            self._static = host_library(static_unit())
        suffix = "f32" if np.dtype(dtype) == np.float32 else "f64"
        key = (kernel.name, suffix)
        if key not in self.kernels:
            self.kernels[key] = HostKernel(getattr(self._static, f"{kernel.name}_{suffix}"), widen=True)
        return self.kernels[key]

    def collect(self, run) -> int:
        """Call ``run()`` with recording kernels, then build what it asked for; returns
        the number of kernels built. ``run``'s exceptions are its own business."""
        from graphflow_cupy.source import common
        self.collected = {}
        try:
            run()
        finally:
            found, self.collected = self.collected, None
        header = common() + "\n"
        bodies = [src[len(header):] if src.startswith(header) else src for src in found.values()]
        if bodies:
            self.libraries.append(host_library(header + "\n".join(sorted(bodies))))
        return len(bodies)


class CupyOnHost(graphflow_cupy.CupyBackend):
    """The CuPy backend with the stand-in ``cupy`` of ``host_cupy`` (device arrays that
    are not NumPy's) and the host loops in place of its kernels (``on_host``): transfers,
    the availability probe and every launch go through the backend's own code."""
    name = "cupy-host"
    xp = HOST_CUPY


def on_host(monkeypatch, host: HostDevice | None = None) -> HostDevice:
    """Route ``graphflow_cupy.device`` to NumPy and the host loops (of ``host``, or a new
    ``HostDevice``) until ``monkeypatch`` is undone."""
    host = host or HostDevice()
    monkeypatch.setattr(device, "cupy", lambda: HOST_CUPY)
    monkeypatch.setattr(device, "function", host.function)
    monkeypatch.setattr(device, "static", host.static)
    monkeypatch.setattr(device, "sm_count", lambda: 1)
    return host


HOST = "cupy-on-host"


def use_host_backend(monkeypatch=None, host: HostDevice | None = None) -> HostDevice:
    """Register ``cupy-on-host`` (with ``host``'s kernels) until ``monkeypatch`` is undone;
    without one (scripts: tests/gpu/run_catalog.py, vgg_check.py), for the process."""
    from graphflow.runtime import backend as registry
    monkeypatch = monkeypatch or pytest.MonkeyPatch()
    host = on_host(monkeypatch, host)
    registry.available()
    monkeypatch.setattr(registry, "_classes", dict(registry._classes))
    monkeypatch.setattr(registry, "_instances", dict(registry._instances))
    registry.register_backend(HOST, CupyOnHost)
    return host


PORTABLE = "portable-on-host"


class PortableOnHost(graphflow_numpy.NumpyBackend):
    """The NumPy backend's portable kernel table (what CuPy inherits, without CuPy's own
    kernels over it) run on the stand-in's device arrays: every kernel that reaches
    ``xp`` must work with arrays that are not NumPy's."""
    name = "portable-host"
    xp = HOST_CUPY
    kernels = graphflow_numpy.KERNELS

    def to_device(self, host_array):
        return HOST_CUPY.asarray(host_array)

    def to_host(self, array):
        return HOST_CUPY.asnumpy(array)


def use_portable_backend(monkeypatch=None) -> None:
    """Register ``portable-on-host`` until ``monkeypatch`` is undone (or for the process)."""
    from graphflow.runtime import backend as registry
    monkeypatch = monkeypatch or pytest.MonkeyPatch()
    registry.available()
    monkeypatch.setattr(registry, "_classes", dict(registry._classes))
    monkeypatch.setattr(registry, "_instances", dict(registry._instances))
    registry.register_backend(PORTABLE, PortableOnHost)
