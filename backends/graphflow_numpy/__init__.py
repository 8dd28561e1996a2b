"""graphflow's CPU backend: kernels written against an array namespace, run with NumPy."""
from __future__ import annotations

import numpy as np

from graphflow.runtime import Backend

from . import kernels  # noqa: F401  (registers every kernel in KERNELS)
from .table import KERNELS


class NumpyBackend(Backend):
    """Runs graphs on the CPU with NumPy. Always available."""

    name = "numpy"
    xp = np
    kernels = KERNELS

    def to_device(self, host_array):
        return np.asarray(host_array)

    def to_host(self, array):
        return np.asarray(array)


__all__ = ["NumpyBackend", "KERNELS"]
