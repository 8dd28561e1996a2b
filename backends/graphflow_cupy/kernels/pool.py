"""Average pooling on the GPU (csrc/pool.cu): one thread per output element forward, one
per input element backward (a gather: no atomics, NumPy's summation order,
deterministic).

Max pooling runs the NumPy backend's ``xp`` kernels on CuPy arrays: ``MaxPool2D`` now
returns each window's winner index as a second output and its gradients read that index
instead of searching the windows again, a contract csrc/pool.cu's ``gf_maxpool*``
kernels (which recompute the winner from x and y) predate; they stay in the source for
a CUDA version of the new contract."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphflow.graph import TensorType
from graphflow.ops.nn import pool
from graphflow.ops.nn._geometry import padding_of, spatial_axes

from .. import device
from ..source import static_kernel
from ._register import float_kernel, prod

AVGPOOL, AVGPOOL_GRAD = (static_kernel("pool.cu", name) for name in ("gf_avgpool", "gf_avgpool_grad"))


@dataclass(frozen=True)
class Geometry:
    x_shape: tuple
    y_shape: tuple
    scalars: tuple   # N H W C PH PW OH OW SH SW PT PL (the kernels' first twelve)


@lru_cache(maxsize=512)
def geometry(op, x_shape) -> Geometry:
    y_shape = op.pooled(TensorType("float32", x_shape)).shape
    ah, aw = spatial_axes(op.data_format)
    c_axis = 3 if op.data_format == "channels_last" else 1
    (ph, pw), (sh, sw) = op.pool_size, op.strides
    h, w = x_shape[ah], x_shape[aw]
    top = padding_of(h, ph, sh, op.padding)[0]
    left = padding_of(w, pw, sw, op.padding)[0]
    return Geometry(x_shape, y_shape, (x_shape[0], h, w, x_shape[c_axis], ph, pw, y_shape[ah], y_shape[aw],
                                       sh, sw, top, left))


def _geometry(node, shape) -> Geometry:
    try:
        return geometry(node.op, tuple(shape))
    except ValueError as exc:
        raise ValueError(f"{node.where()}: {exc}") from None


def _contiguous(shape, data_format) -> tuple:
    """Element strides, in NHWC order, of a C-contiguous array of ``shape``."""
    strides, step = [0] * 4, 1
    for axis in range(3, -1, -1):
        strides[axis], step = step, step * shape[axis]
    return tuple(strides) if data_format == "channels_last" else (strides[0], strides[2], strides[3], strides[1])


def _pool_kernel(op_type, kernel, passed, over_input):
    """Register ``kernel`` for ``op_type``: it takes the op inputs at positions ``passed``
    (made C-contiguous), then the result, which is input-shaped when ``over_input``;
    one thread per element of the result."""
    @float_kernel(op_type, writes_out=True)
    def factory(op, node, xp):
        fmt = op.data_format
        cf = int(fmt == "channels_first")

        def run(*args, out=None):
            g = _geometry(node, args[0].shape)
            shape = g.x_shape if over_input else g.y_shape
            result = out if out is not None else xp.empty(shape, args[-1].dtype)
            index = device.index_type(prod(g.x_shape), prod(g.y_shape))
            fn = device.static(kernel, result.dtype, index)
            strides = _contiguous(g.x_shape, fmt) + _contiguous(g.y_shape, fmt)
            device.each(fn, prod(shape), index, *[xp.ascontiguousarray(args[p]) for p in passed], result,
                        *device.scalars(index, *g.scalars, *strides, cf))
            return result
        return run
    factory.__name__ = kernel.name
    return factory


avg_pool2d = _pool_kernel(pool.AvgPool2D, AVGPOOL, (0,), over_input=False)
avg_pool2d_grad = _pool_kernel(pool.AvgPool2DGrad, AVGPOOL_GRAD, (1,), over_input=True)
