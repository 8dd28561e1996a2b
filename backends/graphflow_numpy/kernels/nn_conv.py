"""Convolution kernels: Conv2D and its two gradients, each choosing an algorithm per shape.

Algorithms (channels-last inside; a channels_first tensor is transposed on the way in
and out, the kernel layout ``(kh, kw, in, out)`` is the same for both formats):

- ``im2col``: cache-blocked GEMM over work units, any stride, padding and dilation
  (``conv_im2col``);
- ``direct``: a numba loop for inputs with at most 4 channels (an image's first layer),
  stride 1, undilated (``conv_direct``);
- ``winograd``: F(2x2, 3x3) or F(4x4, 3x3) minimal filtering for 3x3 stride-1
  undilated convolutions where it pays (``choose``: which one depends on the pass and
  the precision mode; ``conv_winograd``), its tile transforms in numba.

The input gradient of a stride-1 convolution is itself a convolution (dy with the
flipped, channel-swapped kernel), so it takes whichever algorithm that shape chooses;
a strided one is a GEMM plus col2im. ``GRAPHFLOW_CONV`` = ``auto`` (default),
``im2col``, ``winograd``, ``winograd2`` (F(2x2, 3x3)) or ``direct`` forces a choice where
it applies.

Every algorithm is exact in the sense of ``graphflow.runtime.precision``: Winograd
restores the exact zero of an output whose receptive field is all zeros (so ReLU and
max-pool decisions match float64), unless the Function was compiled with
``gf.set_conv_precision("winograd-fast")``; each kernel reads that mode once, when made.

``scratch_bytes(op, shapes)`` says how much scratch one call holds; the kernels declare it
(``KernelSpec.scratch_bytes``) and ``f.report()``'s memory estimate adds the largest.
"""
from __future__ import annotations

import functools
import os

from graphflow.ops.nn import conv
from graphflow.runtime.precision import conv_precision

from .. import jit
from ..table import CPU_KERNELS, KERNELS
from . import conv_direct, conv_im2col, conv_winograd
from ._scratch import scratch
from .conv_geometry import ConvGeometry

CHOICES = ("auto", "im2col", "winograd", "winograd2", "direct")


def forced() -> str:
    """The algorithm ``GRAPHFLOW_CONV`` asks for."""
    v = os.environ.get("GRAPHFLOW_CONV", "auto").strip().lower() or "auto"
    if v not in CHOICES:
        raise ValueError(f"GRAPHFLOW_CONV must be one of {', '.join(CHOICES)}, got {v!r}")
    return v


def choose(g: ConvGeometry, filter_pass: bool = False, exact: bool = True,
           input_pass: bool = False, cpu: bool = True) -> tuple:
    """(algorithm, Winograd tile size) for the forward-shaped convolution ``g``: a layer's
    output, or (``input_pass``) an input gradient written as a convolution, or
    (``filter_pass``) a filter gradient; in the exact mode or not (``exact_mode``); for
    the NumPy backend's kernels (``cpu``, host arrays: numba loops) or the portable ones
    (im2col unless ``GRAPHFLOW_CONV`` forces Winograd's whole-batch xp formulation).

    Exact: a layer's output, whose values ReLU and max-pool decide on, takes F(2x2, 3x3):
    its dyadic transforms round as a direct sum does, and exact zeros are restored. The
    gradients, on which nothing decides, take F(4x4, 3x3) (zeros restored in the input
    gradient too): its rounding, ~1e-6 of their norm, is inside the 1e-5 the fidelity
    tests hold gradients to, and it is 1.2-1.5x faster. ``winograd-fast``: F(4x4)
    everywhere, zeros not restored. Measured on this project's machine: Winograd beats
    blocked im2col 1.5-3x on every 3x3 layer tried, from 3 to 256 channels, except where
    its tiles mostly hang off a small output (F(4x4) on a 5x5 output: 2x2 tiles, 39%
    used) and, forward, with one input channel (then its GEMMs are outer products).

    In the fast mode a layer with at most 4 input channels (an image's first layer)
    takes the direct loop, 1.5x im2col there. It is exact too, but not the default:
    tests/gpu_check.sh's step 4 compares 20 training steps with the CuPy backend's im2col,
    and that comparison is chaotic at its size (a 1e-7 nudge of the initial weights
    moves the losses 1e-2 apart); the direct loop's other summation order alone took it
    to 9.9e-3 (limit 2e-3), where F(2x2) stays at 2.4e-6 (docs/performance.md)."""
    want = forced()
    direct = cpu and jit.available() and conv_direct.applies(g) and not filter_pass
    few = g.c <= conv_direct.MAX_CHANNELS and not exact  # (why not exact: the docstring)
    if want == "direct" or (want == "auto" and direct and few):
        return ("direct", 0) if direct else ("im2col", 0)
    if not g.is_3x3_unit or want in ("im2col", "direct"):
        return "im2col", 0
    if want in ("winograd", "winograd2"):
        return "winograd", 2 if want == "winograd2" else 4
    if not cpu or not jit.available():
        return "im2col", 0  # the xp tile transforms are whole-batch tensor contractions
    m = 2 if exact and not (filter_pass or input_pass) else 4
    th, tw = conv_winograd.tiles(g, m)
    used = g.oh * g.ow / (m * m * th * tw)
    if used < 0.5 or (g.c < 2 and not filter_pass):
        return "im2col", 0
    return "winograd", m


def exact_mode() -> bool:
    """Whether a kernel made now keeps exact zeros (``conv_precision() == "exact"``)."""
    return conv_precision() == "exact"


def _forward(xp, x, k, g: ConvGeometry, y, epilogue=None, exact=True, input_pass=False, cpu=False):
    algo, m = choose(g, exact=exact, input_pass=input_pass, cpu=cpu)
    if algo == "winograd":
        return conv_winograd.forward(xp, x, k, g, y, m, epilogue, exact, cpu=cpu)
    if algo == "direct":
        return conv_direct.forward(xp, x, k, g, y, epilogue)
    return conv_im2col.forward(xp, x, k, g, y, epilogue, cpu=cpu)


def _flipped(xp, k):
    """k[::-1, ::-1] with its channel axes swapped: (kh, kw, c, o) -> (kh, kw, o, c)."""
    return xp.ascontiguousarray(xp.transpose(k[::-1, ::-1], (0, 1, 3, 2)))


def _backprop_input(xp, dy, k, g: ConvGeometry, dx, exact=True, gradient=True, cpu=False):
    if g.strides == (1, 1):  # a zero window of dy gives an exact zero of dx too
        return _forward(xp, dy, _flipped(xp, k), g.transposed(), dx, exact=exact, input_pass=gradient, cpu=cpu)
    return conv_im2col.backprop_input(xp, dy, k, g, dx, cpu=cpu)


def _backprop_filter(xp, x, dy, g: ConvGeometry, exact=True, cpu=False):
    algo, m = choose(g, filter_pass=True, exact=exact, cpu=cpu)
    if algo == "winograd":
        return conv_winograd.backprop_filter(xp, x, dy, g, m, cpu=cpu)
    return conv_im2col.backprop_filter(xp, x, dy, g, cpu=cpu)


# ---------------------------------------------------------------- layouts and buffers
def geometry_at(node, x_shape, k_shape) -> ConvGeometry:
    """``ConvGeometry.of``, naming the node on a shape error (shapes unknown when the
    graph was built can still be wrong when it runs)."""
    try:
        return ConvGeometry.of(node.op, x_shape, k_shape)
    except ValueError as exc:
        raise ValueError(f"{node.where()}: {exc}") from None


def _nhwc_in(xp, t, data_format, slot):
    """t as a C-contiguous channels-last array (a scratch copy when it must be moved)."""
    if data_format == "channels_last":
        return xp.ascontiguousarray(t)
    n, c, h, w = t.shape
    buf = scratch(xp, slot, (n, h, w, c), t.dtype)
    buf[...] = xp.transpose(t, (0, 2, 3, 1))
    return buf


def _result(xp, out, shape_nhwc, dtype, data_format):
    """Where the channels-last result goes: ``out`` itself when it fits, else a new array
    (channels_first: a scratch array, transposed into the result by ``_deliver``)."""
    if data_format == "channels_last":
        if out is not None and out.shape == shape_nhwc and out.dtype == dtype and out.flags.c_contiguous:
            return out
        return xp.empty(shape_nhwc, dtype)
    return scratch(xp, "conv_out", shape_nhwc, dtype)


def _deliver(xp, y, out, data_format):
    """The result in ``out`` (or a new array): never the scratch array ``y`` itself."""
    if data_format == "channels_last":
        if out is None or out is y:
            return y
        out[...] = y
        return out
    t = xp.transpose(y, (0, 3, 1, 2))
    if out is None:
        out = xp.empty(t.shape, t.dtype)  # not ascontiguousarray: with one channel or one
    out[...] = t                          # pixel the transpose is contiguous, a view of scratch
    return out


def _scratch(cpu):
    """``KernelSpec.scratch_bytes`` of a convolution kernel (``cpu``: the NumPy backend's)."""
    def bytes_of(op, shapes, itemsize=4, xp=None):
        return scratch_bytes(op, shapes, itemsize, cpu)  # (defined with the memory accounting below)
    return bytes_of


def conv2d(op, node, xp, cpu=False):
    """``run(x, k, out=None, epilogue=None)``: ``epilogue(y, (images, rows))``, with y the
    result and two slices over its batch and row axes, is called (from worker threads)
    on each block of y as soon as it is written, while it is still in cache, so a fused
    bias / activation tail can run there in place; a channels_first call makes one call
    over everything once the result is in place. ``cpu``: host arrays (the NumPy
    backend's table), which take the numba algorithms over the cores."""
    fmt, exact = op.data_format, exact_mode()

    def run(x, k, out=None, epilogue=None):
        g = geometry_at(node, x.shape, k.shape)
        y = _result(xp, out, g.out_shape, x.dtype, fmt)
        inner = epilogue if fmt == "channels_last" else None
        _forward(xp, _nhwc_in(xp, x, fmt, "conv_x"), xp.ascontiguousarray(k), g, y, inner, exact, cpu=cpu)
        y = _deliver(xp, y, out, fmt)
        if epilogue is not None and inner is None:  # channels_first: the whole result at once
            epilogue(y, (slice(None), slice(None)))
        return y
    return run


def conv2d_backprop_filter(op, node, xp, cpu=False):
    fmt, exact = op.data_format, exact_mode()

    def run(x, k, dy, out=None):
        g = geometry_at(node, x.shape, k.shape)
        dk = _backprop_filter(xp, _nhwc_in(xp, x, fmt, "conv_x"), _nhwc_in(xp, dy, fmt, "conv_dy"), g, exact, cpu)
        if out is None:
            return dk
        out[...] = dk
        return out
    return run


def input_gradient(xp, g: ConvGeometry, k, dy, data_format, out=None, exact=True, gradient=True, cpu=False):
    """d<conv2d(x, k), dy>/dx for an ``x`` of geometry ``g``, in ``data_format`` (also the
    transposed convolution's forward pass: ``gradient=False``, its values are a layer's
    output and take the forward algorithm), into ``out`` when it fits; ``cpu``: host arrays."""
    dx = _result(xp, out, g.in_shape, dy.dtype, data_format)
    _backprop_input(xp, _nhwc_in(xp, dy, data_format, "conv_dy"), xp.ascontiguousarray(k), g, dx, exact,
                    gradient, cpu)
    return _deliver(xp, dx, out, data_format)


def _over_x(op, position):
    """out may be x's own buffer: only x's shape is read."""
    return position == 0


def conv2d_backprop_input(op, node, xp, cpu=False):
    exact = exact_mode()

    def run(x, k, dy, out=None):
        return input_gradient(xp, geometry_at(node, x.shape, k.shape), k, dy, op.data_format, out, exact,
                              cpu=cpu)
    return run


# the portable kernels in KERNELS (CuPy inherits them where its own kernels do not take the
# dtype), the same ones over host arrays (numba loops, per-core units) in CPU_KERNELS
for _op, _factory, _fact in ((conv.Conv2D, conv2d, {"writes_out": True, "takes_epilogue": True}),
                             (conv.Conv2DBackpropFilter, conv2d_backprop_filter, {}),
                             (conv.Conv2DBackpropInput, conv2d_backprop_input,
                              {"writes_out": True, "inplace": _over_x})):
    KERNELS.register(_op, scratch_bytes=_scratch(False), **_fact)(_factory)
    CPU_KERNELS.register(_op, scratch_bytes=_scratch(True), **_fact)(functools.partial(_factory, cpu=True))


# ---------------------------------------------------------------- memory accounting
def _forward_scratch(g: ConvGeometry, itemsize: int, filter_pass: bool = False,
                     input_pass: bool = False, cpu: bool = True) -> int:
    algo, m = choose(g, filter_pass, exact_mode(), input_pass, cpu)
    if algo == "winograd":
        return conv_winograd.scratch_bytes(g, m, itemsize)
    if algo == "direct":
        return 0  # a few accumulators on the stack of the loop
    return conv_im2col.scratch_bytes(g, itemsize)


def scratch_bytes(op, shapes, itemsize: int = 4, cpu: bool = True) -> int:
    """Bytes of scratch one call of the kernel of ``op`` (Conv2D or either gradient) holds
    at once (``cpu``: the NumPy backend's kernel, else the portable one), for inputs of
    ``shapes`` (x and kernel first, as the op takes them):
    column matrices or Winograd tiles of the work units in flight, plus the
    channels-last copies a channels_first call makes."""
    g = ConvGeometry.of(op, shapes[0], shapes[1])
    moved = 0
    if op.data_format == "channels_first":
        moved = (g.n * g.h * g.w * g.c + g.n * g.oh * g.ow * g.o) * itemsize
    if isinstance(op, conv.Conv2DBackpropInput):
        if g.strides == (1, 1):
            return moved + _forward_scratch(g.transposed(), itemsize, input_pass=True, cpu=cpu)
        return moved + conv_im2col.backprop_input_scratch_bytes(g, itemsize)
    return moved + _forward_scratch(g, itemsize, isinstance(op, conv.Conv2DBackpropFilter), cpu=cpu)

