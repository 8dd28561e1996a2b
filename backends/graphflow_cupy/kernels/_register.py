"""Registering hand-written GPU kernels, and what they share: layouts in NHWC order.

``float_kernel`` registers a factory for float32/float64 nodes; a node of another dtype
(float16, integers) gets the parent (NumPy) table's kernel, which CuPy runs as written.

    >>> @float_kernel(pool.AvgPool2D, writes_out=True)
    ... def avg_pool2d(op, node, xp): ...
"""
from __future__ import annotations

import numpy as np

from ..source import KERNEL_DTYPES
from ..table import KERNELS


def float_kernel(op_type, writes_out: bool = False):
    def deco(factory):
        def choose(op, node, xp):
            if node.outputs[0].dtype in KERNEL_DTYPES:
                return factory(op, node, xp)
            return KERNELS.parent.lookup(op_type)(op, node, xp)
        choose.__name__ = choose.__qualname__ = factory.__name__
        choose.__doc__ = factory.__doc__
        KERNELS.register(op_type, writes_out=writes_out)(choose)
        return factory
    return deco


def nhwc_strides(array, data_format) -> tuple:
    """Element strides of a 4-D array in (batch, rows, cols, channels) order."""
    s = [st // array.itemsize for st in array.strides]
    return tuple(s) if data_format == "channels_last" else (s[0], s[2], s[3], s[1])


def reach(shape, strides) -> int:
    """One past the largest element offset an array view forms (for the index type)."""
    return 1 + sum(abs(s) * (d - 1) for s, d in zip(strides, shape) if d)


def prod(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1
