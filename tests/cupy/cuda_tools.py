"""Checking the CuPy backend's CUDA without a GPU.

- ``nvcc_check(source)``: compile a translation unit with nvcc to device code (``--cubin``
  for ``GRAPHFLOW_NVCC_ARCH``, default sm_90, the H200's): syntax, types, templates and
  register allocation are checked; nothing runs.
- ``host_library(source)``: the same source built by the host C++ compiler into a shared
  library; each kernel's per-element function is there as an ``extern "C"`` loop.
- ``on_host(monkeypatch)``: the CuPy backend with NumPy arrays and those host loops in
  place of CuPy and the GPU, so its Python launch code and its CUDA source run here and
  can be compared with the NumPy backend.

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
from graphflow_cupy import device
from graphflow_cupy.source import static_kernels, static_source

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


def nvcc_check(source: str) -> Path:
    """Compile ``source`` to a cubin with nvcc (AssertionError with the log on failure)."""
    return _cached(source, ".cubin", lambda src, out: [NVCC, "--cubin", f"-arch={ARCH}", "-std=c++17",
                                                       "-x", "cu", "-o", out, src])


def host_library(source: str) -> ctypes.CDLL:
    """``source`` compiled for the CPU (the non-CUDA branches: host loops) and loaded."""
    path = _cached(source, ".so", lambda src, out: [CXX, "-x", "c++", "-std=c++17", "-O1", "-fPIC", "-shared",
                                                    "-w", "-o", out, src])
    return ctypes.CDLL(str(path))


def static_unit(instantiate: bool = True) -> str:
    """One translation unit with every hand-written kernel (and, for nvcc, every
    (dtype, index) instantiation the backend may ask NVRTC for)."""
    from graphflow_cupy.source import STATIC_FILES, common, instantiations, read
    parts = [common()] + [read(f) for f in STATIC_FILES]
    if instantiate:
        parts.append(instantiations([k for f in STATIC_FILES for k in static_kernels(f)]))
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
        if isinstance(a, np.ndarray):
            return ctypes.c_void_p(a.ctypes.data)
        kind = np.dtype(type(a))
        if self.widen and kind == np.int32:
            return ctypes.c_longlong(int(a))
        return _CTYPES[kind](a.item())


class HostDevice:
    """Replaces ``graphflow_cupy.device``'s CuPy-facing functions (see ``on_host``)."""

    def __init__(self):
        self.kernels: dict = {}
        self._static = None

    def function(self, source, name):
        key = (source, name)
        if key not in self.kernels:
            self.kernels[key] = HostKernel(getattr(host_library(source), f"{name}_host"), widen=False)
        return self.kernels[key]

    def static(self, kernel, dtype, index):
        if self._static is None:
            self._static = host_library(static_unit(instantiate=False))
        suffix = "f32" if np.dtype(dtype) == np.float32 else "f64"
        key = (kernel.name, suffix)
        if key not in self.kernels:
            self.kernels[key] = HostKernel(getattr(self._static, f"{kernel.name}_{suffix}"), widen=True)
        return self.kernels[key]


class CupyOnHost(graphflow_cupy.CupyBackend):
    """The CuPy backend, its arrays NumPy's and its kernels the host loops (``on_host``)."""
    name = "cupy-host"
    xp = np

    def available(self):
        return True, ""

    def to_device(self, host_array):
        return np.asarray(host_array)

    def to_host(self, array):
        return np.asarray(array)

    def synchronize(self):
        pass


def on_host(monkeypatch) -> HostDevice:
    """Route ``graphflow_cupy.device`` to NumPy and the host loops for this test."""
    host = HostDevice()
    monkeypatch.setattr(device, "cupy", lambda: np)
    monkeypatch.setattr(device, "function", host.function)
    monkeypatch.setattr(device, "static", host.static)
    monkeypatch.setattr(device, "sm_count", lambda: 1)
    return host
