"""The transposed-convolution kernel: conv2d's input gradient, for an input shape that
follows from the incoming tensor's (``Conv2DTranspose.out_shape_of``)."""
from __future__ import annotations

from graphflow.ops.nn import conv_transpose

from ..table import KERNELS
from ._out import deliver
from .nn_conv import exact_mode, geometry_at, input_gradient


@KERNELS.register(conv_transpose.Conv2DTranspose)
def conv2d_transpose(op, node, xp):
    exact = exact_mode()

    def run(y, k, out=None):
        x_shape = op.out_shape_of(y.shape, k.shape)
        g = geometry_at(node, x_shape, k.shape)
        return deliver(input_gradient(xp, g, k, y, op.data_format, exact=exact, gradient=False), out)
    return run
