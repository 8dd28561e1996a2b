"""graphflow's GPU backend: the NumPy backend's kernels run with CuPy, plus generated CUDA.

``CupyBackend`` subclasses ``NumpyBackend``: its kernel table inherits every NumPy kernel
(they are written against ``xp``, here ``cupy``) and overrides what must differ on a GPU
(``kernels/``): element-wise ops and fused groups become one generated CUDA kernel each,
convolution is im2col + cuBLAS GEMM + col2im (CuPy 14 has no cuDNN), pooling, softmax and
softmax cross-entropy have kernels of their own, random draws are one Philox kernel with
the NumPy backend's bits, and scatter-adds are deterministic segment sums.

CuPy is imported only when the backend is used: ``graphflow_cupy`` imports (and its CUDA
sources can be generated and checked) on machines without CuPy or a GPU, where
``available()`` says why it cannot run.

    >>> gf.function([x], y, backend="cupy")          # or GRAPHFLOW_BACKEND=cupy
"""
from __future__ import annotations

import numpy as np

from graphflow.ops.fused import Fused
from graphflow.runtime import KernelSpec
from graphflow_numpy import NumpyBackend
from graphflow_numpy.kernels.fused import fused_inplace

from . import device
from . import kernels  # noqa: F401  (registers the GPU kernels in KERNELS)
from .expressions import EXPRESSIONS
from .table import KERNELS

INSTALL_HINT = "pip install 'graphflow[gpu-cuda13]' (or [gpu-cuda12])"


class CupyBackend(NumpyBackend):
    """Runs graphs on an NVIDIA GPU with CuPy (float32 GEMMs stay float32: TF32 only
    with CuPy's own ``CUPY_TF32=1``). Available when CuPy imports, a CUDA driver answers,
    a device is visible and the CUDA libraries it calls (NVRTC, cuBLAS) load."""

    name = "cupy"
    kernels = KERNELS
    fuses = True

    def __init__(self):
        self._status = None

    @property
    def xp(self):
        return device.cupy()

    def available(self) -> tuple[bool, str]:
        if self._status is None:
            self._status = _probe()
        return self._status

    def to_device(self, host_array):
        return device.cupy().asarray(host_array)

    def to_host(self, array):
        """A NumPy array (a synchronising copy: every queued kernel has finished)."""
        if isinstance(array, np.ndarray):
            return array
        return device.cupy().asnumpy(array)

    def synchronize(self):
        device.cupy().cuda.get_current_stream().synchronize()

    def jit_stats(self) -> dict:
        """Each CUDA kernel's first use: an NVRTC compile ("miss") or CuPy's disk cache."""
        return {name: dict(v) for name, v in device.STATS.items()}

    def compile_fused(self, node):
        """One generated CUDA kernel per element-wise group (kernels/fused.py)."""
        from .kernels.fused import compile_fused
        return compile_fused(self, node)

    def fused_spec(self, op) -> KernelSpec:
        if isinstance(op, Fused):
            return KernelSpec(None, writes_out=True, inplace=fused_inplace)
        return KernelSpec(None, writes_out=True)


# The CUDA libraries the backend calls, each probed by a cheap call that loads it (CuPy
# loads them lazily: without this a missing cuBLAS would show only at the first matmul).
# cuRAND is not among them: random draws are graphflow's own Philox kernel (csrc/random.cu).
LIBRARIES = (
    ("NVRTC", "CUDA's run-time compiler, for every kernel", lambda cp: cp.cuda.nvrtc.getVersion()),
    ("cuBLAS", "matmul and the convolutions' GEMMs", lambda cp: cp.cuda.device.get_cublas_handle()),
)
LIBRARY_HINT = "pip install 'cupy-cuda13x[ctk]' (or cupy-cuda12x[ctk]) installs the CUDA libraries"


def _probe() -> tuple[bool, str]:
    """``(True, "")``, or ``(False, why)``: no CuPy, no driver, no device, or which of
    the CUDA libraries (``LIBRARIES``) does not load, each with its error."""
    try:
        cp = device.cupy()
        runtime = cp.cuda.runtime
    except Exception as exc:  # ImportError, or a CuPy whose CUDA libraries are missing
        return False, f"CuPy does not import ({type(exc).__name__}: {exc}); {INSTALL_HINT}"
    try:
        count = runtime.getDeviceCount()
    except Exception as exc:  # no driver, or one too old for this CuPy's CUDA
        return False, f"no usable CUDA driver ({type(exc).__name__}: {exc})"
    if count < 1:
        return False, "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)"
    missing = []
    for name, role, load in LIBRARIES:
        try:
            load(cp)
        except Exception as exc:  # the library is absent, or too old for this CuPy
            missing.append(f"{name} ({role}) does not load ({type(exc).__name__}: {exc})")
    if missing:
        return False, "; ".join(missing) + f"; {LIBRARY_HINT}"
    return True, ""


__all__ = ["CupyBackend", "EXPRESSIONS", "KERNELS"]
