"""Linear-algebra kernels: ``matmul`` straight to ``xp.matmul`` (BLAS on the CPU, cuBLAS
with CuPy), writing into the planned buffer when there is one."""
from graphflow.ops import linalg as la

from ..table import KERNELS


@KERNELS.register(la.MatMul, writes_out=True)
def matmul(op, node, xp):
    fn = xp.matmul
    if node.outputs[0].ndim == 0:  # vector @ vector: NumPy returns a scalar, not an array
        def run(x, y, out=None):
            if out is not None:
                return fn(x, y, out=out)
            return xp.asarray(fn(x, y))
        return run

    def run(x, y, out=None):
        return fn(x, y) if out is None else fn(x, y, out=out)
    return run


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
