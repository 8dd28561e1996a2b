"""The NumPy backend's kernel tables.

``KERNELS`` is the portable base: every kernel, written against an array namespace ``xp``
and never asking which one it was handed, so any backend whose table inherits it (CuPy's)
runs it on its own arrays. ``CPU_KERNELS``, its child and the NumPy backend's own table,
holds the CPU fast paths that only host arrays can take (numba loops, per-core splits,
MPI on host buffers), each registered over the portable kernel of the same op.

    >>> CPU_KERNELS.lookup(ops.MatMul)   # the per-core split GEMM; KERNELS has plain xp.matmul
"""
from graphflow.runtime import KernelTable

KERNELS = KernelTable(name="portable")
CPU_KERNELS = KernelTable(parent=KERNELS, name="numpy")


def on_host(table) -> bool:
    """Whether kernels looked up in ``table`` run on host arrays: it is ``CPU_KERNELS`` or
    inherits it. Hooks outside the tables (``NumpyBackend.compile_fused``) ask this, never
    which array namespace they were handed."""
    while table is not None:
        if table is CPU_KERNELS:
            return True
        table = table.parent
    return False
