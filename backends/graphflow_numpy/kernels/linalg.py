"""Linear-algebra kernels: ``matmul`` straight to ``xp.matmul`` (BLAS on the CPU, cuBLAS
with CuPy), writing into the planned buffer when there is one.

A large 2-D product on NumPy is cut along the longer side of its result into one block
per core, each computed by single-threaded BLAS on its own thread (``_parallel``): on a
machine shared with other jobs, BLAS's own thread pool spins while one of its threads
waits for a core, and a dense layer's product measured 10-50x slower than this way
(docs/performance.md).
"""
import numpy as np

from graphflow.ops import linalg as la

from ..table import CPU_KERNELS, KERNELS
from ._parallel import run_parts, split_factor, thread_count

#: products with fewer multiply-adds stay one BLAS call (a thread hand-off costs ~50 us)
SPLIT_FLOPS = 1 << 22


def split_matmul(xp, x, y, out=None):
    """``x @ y`` for 2-D float NumPy arrays, blocks of the result on every core."""
    m, n = x.shape[0], y.shape[1]
    if out is None:
        out = xp.empty((m, n), np.result_type(x, y))
    rows = m >= n
    size = m if rows else n

    def part(a, b):
        if rows:
            xp.matmul(x[a:b], y, out=out[a:b])
        else:
            xp.matmul(x, y[:, a:b], out=out[:, a:b])
    run_parts(part, size, min(thread_count(), size))
    return out


def _splits(x, y) -> bool:
    # the size test first: thread_count() asks the OS (a few µs), too much for a loop's
    # small per-step products
    return (x.ndim == 2 and y.ndim == 2
            and x.shape[0] * x.shape[1] * y.shape[1] >= SPLIT_FLOPS * split_factor()
            and x.dtype == y.dtype and x.dtype.kind == "f" and thread_count() > 1)


def _matmul(op, node, xp, cpu=False):
    """``xp.matmul``; ``cpu``: host arrays, whose large 2-D float products split over the
    cores (``split_matmul``)."""
    fn = xp.matmul
    if node.outputs[0].ndim == 0:  # vector @ vector: NumPy returns a scalar, not an array
        def run(x, y, out=None):
            if out is not None:
                return fn(x, y, out=out)
            return xp.asarray(fn(x, y))
        return run

    def run2(x, y, out=None):
        if cpu and _splits(x, y) and (out is None or (out.dtype == x.dtype and out.shape == (x.shape[0], y.shape[1]))):
            return split_matmul(xp, x, y, out)
        return fn(x, y) if out is None else fn(x, y, out=out)

    def run(x, y, out=None):
        # (..., m, k) @ (k, n) with a contiguous x is one (M, k) @ (k, n) product: one BLAS
        # call instead of one per leading index (10x faster for a loop's pushed-out input
        # projection, (T, B, F) @ (F, H)); the same sums, so the same results
        if cpu and x.ndim > 2 and y.ndim == 2 and x.flags.c_contiguous and (out is None or out.flags.c_contiguous):
            flat = run2(x.reshape(-1, x.shape[-1]), y, None if out is None else out.reshape(-1, y.shape[1]))
            return flat.reshape(x.shape[:-1] + (y.shape[1],)) if out is None else out
        return run2(x, y, out)
    return run


@KERNELS.register(la.MatMul, writes_out=True)
def matmul(op, node, xp):
    return _matmul(op, node, xp)


@CPU_KERNELS.register(la.MatMul, writes_out=True)
def matmul_cpu(op, node, xp):
    return _matmul(op, node, xp, cpu=True)


@KERNELS.register(la.TensorDot)
def tensordot(op, node, xp):
    axes, dtype = (list(op.x_axes), list(op.y_axes)), node.outputs[0].dtype

    def run(x, y, out=None):
        r = xp.asarray(xp.tensordot(x, y, axes), dtype=dtype)
        if out is None:
            return r
        out[...] = r
        return out
    return run
