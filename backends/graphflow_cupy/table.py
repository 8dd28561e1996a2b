"""The CuPy backend's kernel table: NumPy's kernels (written against ``xp``) as the parent,
with the kernels that must differ on a GPU registered here (kernels/)."""
from graphflow.runtime import KernelTable
from graphflow_numpy import KERNELS as NUMPY_KERNELS

KERNELS = KernelTable(parent=NUMPY_KERNELS, name="cupy")
