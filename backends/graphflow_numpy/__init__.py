"""graphflow's CPU backend: kernels written against an array namespace, run with NumPy."""
from __future__ import annotations

import numpy as np

from graphflow.ops.fused import Fused
from graphflow.runtime import Backend, KernelSpec

from . import jit, kernels  # noqa: F401  (kernels: registers every kernel in KERNELS)
from .kernels._parallel import in_loop
from .kernels.fused import epilogue_kernel, epilogue_writes_out, fused_inplace, fused_kernel
from .table import CPU_KERNELS, KERNELS, on_host


class NumpyBackend(Backend):
    """Runs graphs on the CPU with NumPy. Always available.

    Its kernels are written against ``xp`` and live in ``KERNELS`` (portable), with CPU
    fast paths over them in ``CPU_KERNELS`` (this backend's table); a backend for another
    array library subclasses this one and gives a ``KernelTable(parent=KERNELS)`` with
    only the kernels that differ (the CuPy backend does)."""

    name = "numpy"
    xp = np
    kernels = CPU_KERNELS
    fuses = True

    def to_device(self, host_array):
        return np.asarray(host_array)

    def to_host(self, array):
        return np.asarray(array)

    def loop_scope(self):
        """Single-threaded BLAS while a loop runs: its per-step products are small, and a
        BLAS pool's wake-ups cost more than they save there (a (64, 128) @ (128, 128) step
        measured 30x slower on a loaded 2-core machine); only products 8x the usual size
        are split over threads (kernels/_parallel.py ``in_loop``)."""
        return in_loop()

    def jit_stats(self) -> dict:
        return {name: dict(v) for name, v in jit.STATS.items()}

    def compile_fused(self, node):
        """Generated Python over this backend's kernels (see kernels/fused.py); with the CPU
        table (or one inheriting it) the groups may also run as numba loops over the cores."""
        cpu = on_host(self.kernels)
        if isinstance(node.op, Fused):
            return fused_kernel(node.op, [t.type for t in node.inputs], node, self.kernels, self.xp, cpu)
        return epilogue_kernel(node.op, node, self.kernels, self.xp, cpu)

    def fused_spec(self, op) -> KernelSpec:
        if isinstance(op, Fused):
            return KernelSpec(None, writes_out=True, inplace=fused_inplace)
        return KernelSpec(None, writes_out=epilogue_writes_out(op, self.kernels))


__all__ = ["NumpyBackend", "KERNELS", "CPU_KERNELS"]
