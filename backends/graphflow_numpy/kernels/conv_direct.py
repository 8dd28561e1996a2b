"""Direct convolution for few input channels (``direct_loops``), on NumPy arrays with
numba: stride 1, undilated, any kernel size and padding, channels-last. Bands of output
rows are split over the cores; each band's epilogue (a fused bias / ReLU tail) runs as
soon as the band is written, while it is in cache, as with the other algorithms.

    >>> forward(np, x, k, g, y)        # y (n, oh, ow, o) = x correlated with k
"""
from __future__ import annotations

from .. import jit
from . import conv_im2col, direct_loops
from ._parallel import run_parts, thread_count
from ._scratch import work_units
from .conv_geometry import ConvGeometry

#: at most this many input channels: beyond it the GEMM-based algorithms win
MAX_CHANNELS = 4
#: output bytes per work unit (a band of rows, or a few images)
BUDGET = 1 << 18


def applies(g: ConvGeometry) -> bool:
    """Whether the direct loop can compute ``g``: stride 1, undilated."""
    return g.strides == (1, 1) and g.dilation == (1, 1)


def forward(xp, x, k, g: ConvGeometry, y, epilogue=None):
    """y (n, oh, ow, o), C-contiguous, = x (n, h, w, c) correlated with k (kh, kw, c, o);
    ``epilogue(y, (images, rows))`` runs on each band of y as soon as it is written."""
    lp = jit.loops(direct_loops)
    if lp is None:  # numba switched off after the choice was made: the GEMM does the same sums
        return conv_im2col.forward(xp, x, k, g, y, epilogue, cpu=True)
    us = work_units(g.n, g.oh, g.ow * g.o * x.dtype.itemsize, BUDGET, thread_count())

    def part(lo, hi):
        for n0, n1, r0, r1 in us[lo:hi]:
            lp.forward_rows(x, k, g.pads[0], g.pads[2], n0, n1, r0, r1, y)
            if epilogue is not None:
                epilogue(y, (slice(n0, n1), slice(r0, r1)))
    run_parts(part, len(us), blas=False)
    return y
