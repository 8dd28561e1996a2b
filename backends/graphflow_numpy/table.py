"""The kernel table shared by the NumPy and CuPy backends (kernels take ``xp``)."""
from graphflow.runtime import KernelTable

KERNELS = KernelTable()
