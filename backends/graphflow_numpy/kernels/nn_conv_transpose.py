"""The transposed-convolution kernel: conv2d's input gradient, for an input shape that
follows from the incoming tensor's (``Conv2DTranspose.out_shape_of``)."""
from __future__ import annotations

import functools

from graphflow.ops.nn import conv_transpose

from ..table import CPU_KERNELS, KERNELS
from ._out import deliver
from .nn_conv import exact_mode, geometry_at, input_gradient


def conv2d_transpose(op, node, xp, cpu=False):
    """``cpu``: host arrays (the NumPy backend's table): the numba algorithms over the cores."""
    exact = exact_mode()

    def run(y, k, out=None):
        x_shape = op.out_shape_of(y.shape, k.shape)
        g = geometry_at(node, x_shape, k.shape)
        return deliver(input_gradient(xp, g, k, y, op.data_format, exact=exact, gradient=False, cpu=cpu),
                       out)
    return run


KERNELS.register(conv_transpose.Conv2DTranspose)(conv2d_transpose)
CPU_KERNELS.register(conv_transpose.Conv2DTranspose)(functools.partial(conv2d_transpose, cpu=True))
