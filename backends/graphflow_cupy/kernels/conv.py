"""Convolution on the GPU without cuDNN: im2col (csrc/conv.cu) + one cuBLAS GEMM.

The column matrix is (N*OH*OW, KH*KW*C), so with the kernel reshaped to (KH*KW*C, O)
the forward GEMM writes the NHWC output straight into its buffer; channels_first
results are transposed once at the end. The filter gradient is colsᵀ @ dy, the input
gradient dy @ kᵀ followed by col2im, a gather (each input pixel sums the column entries
it was copied to, in tap order), so it needs no atomics and is deterministic. A 1x1,
stride-1, unpadded NHWC convolution is a plain GEMM (no im2col). float32 GEMMs run in
float32 (CuPy uses TF32 only when ``CUPY_TF32=1``).
"""
from __future__ import annotations

from dataclasses import fields
from functools import lru_cache

from graphflow.ops.nn import conv, conv_transpose
from graphflow_numpy.kernels.conv_geometry import ConvGeometry

from .. import device
from ..source import static_kernel
from ._register import float_kernel, nhwc_strides, reach

IM2COL = static_kernel("conv.cu", "gf_im2col")
COL2IM = static_kernel("conv.cu", "gf_col2im")


class Geometry(ConvGeometry):
    """The NumPy backend's ``ConvGeometry``, with what the CUDA kernels take from it."""

    @property
    def rows(self) -> int:           # rows of the column matrix
        return self.n * self.oh * self.ow

    @property
    def cols(self) -> int:           # its columns: one per (tap, channel)
        return self.kh * self.kw * self.c

    @property
    def plain(self) -> bool:         # a 1x1 window that visits every pixel once
        return self.kh == self.kw == 1 and self.strides == (1, 1) and self.pads == (0, 0, 0, 0)

    def scalars(self) -> tuple:
        (sh, sw), (dh, dw) = self.strides, self.dilation
        return (self.n, self.h, self.w, self.c, self.kh, self.kw, self.oh, self.ow, sh, sw, dh, dw,
                self.pads[0], self.pads[2])


@lru_cache(maxsize=512)
def geometry(op, x_shape, k_shape) -> Geometry:
    g = ConvGeometry.of(op, x_shape, k_shape)
    return Geometry(**{f.name: getattr(g, f.name) for f in fields(g)})


def _geometry(node, x_shape, k_shape) -> Geometry:
    try:
        return geometry(node.op, tuple(x_shape), tuple(k_shape))
    except ValueError as exc:
        raise ValueError(f"{node.where()}: {exc}") from None


def columns(x, g: Geometry, data_format):
    """The (rows, cols) column matrix of ``x`` (a view of x when the convolution is plain)."""
    cp = device.cupy()
    if g.plain and data_format == "channels_last" and x.flags.c_contiguous:
        return x.reshape(g.rows, g.c)
    cols = cp.empty((g.rows, g.cols), x.dtype)
    strides = nhwc_strides(x, data_format)
    index = device.index_type(g.rows * g.cols, reach(x.shape, x.strides))
    fn = device.static(IM2COL, x.dtype, index)
    device.each(fn, g.rows * g.cols, index, x, cols, *device.scalars(index, *g.scalars(), *strides))
    return cols


def rows_of(dy, g: Geometry, data_format):
    """The output gradient as an (N*OH*OW, O) C-contiguous matrix."""
    cp = device.cupy()
    if data_format == "channels_first":
        dy = dy.transpose(0, 2, 3, 1)
    return cp.ascontiguousarray(dy).reshape(g.rows, g.o)


def deliver_nhwc(y2, g: Geometry, data_format, out):
    """The (rows, O) GEMM result as the op's output (transposed for channels_first)."""
    y = y2.reshape(g.n, g.oh, g.ow, g.o)
    if data_format == "channels_first":
        y = y.transpose(0, 3, 1, 2)
    if out is None:
        return device.cupy().ascontiguousarray(y)
    out[...] = y
    return out


@float_kernel(conv.Conv2D, writes_out=True)
def conv2d(op, node, xp):
    fmt = op.data_format

    def run(x, k, out=None):
        g = _geometry(node, x.shape, k.shape)
        cols = columns(x, g, fmt)
        k2 = k.reshape(g.cols, g.o)
        if fmt == "channels_last":
            y = out.reshape(g.rows, g.o) if out is not None else xp.empty((g.rows, g.o), x.dtype)
            xp.matmul(cols, k2, out=y)
            return out if out is not None else y.reshape(g.n, g.oh, g.ow, g.o)
        return deliver_nhwc(xp.matmul(cols, k2), g, fmt, out)
    return run


@float_kernel(conv.Conv2DBackpropFilter, writes_out=True)
def conv2d_backprop_filter(op, node, xp):
    fmt = op.data_format

    def run(x, k, dy, out=None):
        g = _geometry(node, x.shape, k.shape)
        cols = columns(x, g, fmt)
        dk = out.reshape(g.cols, g.o) if out is not None else xp.empty((g.cols, g.o), x.dtype)
        xp.matmul(cols.T, rows_of(dy, g, fmt), out=dk)
        return out if out is not None else dk.reshape(k.shape)
    return run


def input_gradient(xp, g: Geometry, k, dy, data_format, out):
    """d<conv2d(x, k), dy>/dx for an ``x`` of geometry ``g``: dy @ kᵀ, then col2im
    (also conv2d_transpose, whose output is that gradient)."""
    dx = out if out is not None else xp.empty((g.n, g.h, g.w, g.c) if data_format == "channels_last"
                                              else (g.n, g.c, g.h, g.w), dy.dtype)
    k2t = k.reshape(g.cols, g.o).T
    if g.plain and data_format == "channels_last":
        xp.matmul(rows_of(dy, g, data_format), k2t, out=dx.reshape(g.rows, g.c))
        return dx
    dcols = xp.matmul(rows_of(dy, g, data_format), k2t)
    index = device.index_type(g.rows * g.cols, dx.size)
    fn = device.static(COL2IM, dx.dtype, index)
    device.each(fn, g.n * g.h * g.w * g.c, index, dcols, dx,
                *device.scalars(index, *g.scalars(), *nhwc_strides(dx, data_format)))
    return dx


@float_kernel(conv.Conv2DBackpropInput, writes_out=True)
def conv2d_backprop_input(op, node, xp):
    def run(x, k, dy, out=None):
        return input_gradient(xp, _geometry(node, x.shape, k.shape), k, dy, op.data_format, out)
    return run


@float_kernel(conv_transpose.Conv2DTranspose, writes_out=True)
def conv2d_transpose(op, node, xp):
    def run(y, k, out=None):
        x_shape = op.out_shape_of(y.shape, k.shape)
        return input_gradient(xp, _geometry(node, x_shape, k.shape), k, y, op.data_format, out)
    return run
