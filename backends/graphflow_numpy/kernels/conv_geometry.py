"""The geometry of one 2-D convolution in channels-last terms, with explicit padding, so
the same algorithms serve the forward op and the input gradient written as a convolution.

    >>> g = ConvGeometry.of(Conv2D(padding="same"), (8, 32, 32, 3), (3, 3, 3, 16))
    >>> g.out_shape, g.pads
    ((8, 32, 32, 16), (1, 1, 1, 1))
    >>> g.transposed().out_shape     # dy convolved with the flipped kernel gives dx
    (8, 32, 32, 3)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphflow.ops.nn._geometry import effective, output_length, padding_of


@dataclass(frozen=True)
class ConvGeometry:
    """A cross-correlation of an (n, h, w, c) input with a (kh, kw, c, o) kernel giving an
    (n, oh, ow, o) output; ``pads`` = (top, bottom, left, right) zeros around the input."""
    n: int
    h: int
    w: int
    c: int
    kh: int
    kw: int
    o: int
    oh: int
    ow: int
    pads: tuple
    strides: tuple = (1, 1)
    dilation: tuple = (1, 1)

    @staticmethod
    def of(op, x_shape, k_shape) -> "ConvGeometry":
        """The geometry of ``op`` (a ConvOp) on these shapes (x in the op's data format);
        ValueError with a plain message when they do not fit."""
        return _of(op.strides, op.padding, op.dilation, op.data_format, tuple(x_shape), tuple(k_shape))

    @property
    def in_shape(self) -> tuple:
        return (self.n, self.h, self.w, self.c)

    @property
    def out_shape(self) -> tuple:
        return (self.n, self.oh, self.ow, self.o)

    @property
    def kernel_shape(self) -> tuple:
        return (self.kh, self.kw, self.c, self.o)

    @property
    def flops(self) -> int:
        return 2 * self.n * self.oh * self.ow * self.o * self.kh * self.kw * self.c

    @property
    def is_3x3_unit(self) -> bool:
        """3x3, stride 1, no dilation: the shape Winograd's minimal filtering serves."""
        return (self.kh, self.kw) == (3, 3) and self.strides == (1, 1) and self.dilation == (1, 1)

    def transposed(self) -> "ConvGeometry":
        """For stride 1: the input gradient as a convolution of dy (n, oh, ow, o) with the
        kernel flipped in both spatial axes and its channel axes swapped (kh, kw, o, c)."""
        if self.strides != (1, 1):
            raise ValueError("only a stride-1 convolution's input gradient is a convolution")
        eh, ew = effective(self.kh, self.dilation[0]), effective(self.kw, self.dilation[1])
        t, b, l, r = self.pads
        pads = (eh - 1 - t, eh - 1 - b, ew - 1 - l, ew - 1 - r)
        return ConvGeometry(self.n, self.oh, self.ow, self.o, self.kh, self.kw, self.c, self.h, self.w,
                            pads, (1, 1), self.dilation)

    def valid_range(self, tap: int, axis: int, lo: int, hi: int) -> tuple:
        """Output positions ``[a, b)`` within ``[lo, hi)`` along ``axis`` (0 rows, 1 cols)
        where kernel tap ``tap`` reads a real input cell (not padding)."""
        size, s, d, before = ((self.h, self.strides[0], self.dilation[0], self.pads[0]) if axis == 0 else
                              (self.w, self.strides[1], self.dilation[1], self.pads[2]))
        off = tap * d - before                       # input index = i * s + off
        a = max(lo, -(off // s))                     # ceil(-off / s)
        b = min(hi, (size - 1 - off) // s + 1)
        return a, max(a, b)

    def source(self, tap: int, axis: int, a: int, b: int) -> slice:
        """The input slice read by kernel tap ``tap`` for output positions ``[a, b)``."""
        s, d, before = ((self.strides[0], self.dilation[0], self.pads[0]) if axis == 0 else
                        (self.strides[1], self.dilation[1], self.pads[2]))
        start = a * s + tap * d - before
        return slice(start, start + (b - a - 1) * s + 1, s)


@lru_cache(maxsize=512)
def _of(strides, padding, dilation, data_format, x_shape, k_shape) -> ConvGeometry:
    if data_format == "channels_first":
        n, c, h, w = x_shape
    else:
        n, h, w, c = x_shape
    kh, kw, k_in, o = k_shape
    if c != k_in:
        raise ValueError(f"input channels {c} != kernel input channels {k_in} (input shape {x_shape}, "
                         f"kernel shape {k_shape})")
    (sh, sw), (dh, dw) = strides, dilation
    oh = output_length(h, kh, sh, padding, dh, "input height")
    ow = output_length(w, kw, sw, padding, dw, "input width")
    pads = padding_of(h, kh, sh, padding, dh) + padding_of(w, kw, sw, padding, dw)
    return ConvGeometry(n, h, w, c, kh, kw, o, oh, ow, pads, strides, dilation)
