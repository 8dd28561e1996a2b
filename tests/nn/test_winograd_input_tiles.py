"""The Winograd input transform loops (``winograd2_loops.input_tiles`` for F(2x2),
``winograd_loops.input_tiles`` for F(4x4); both share each column's first pass between
the tiles that read it) against the transform written tile by tile in NumPy float32:
the same V bit for bit, and the same live flags (an output is live when its 3x3 x C
receptive field holds a non-zero value; padding is zero)."""
import numpy as np
import pytest

from graphflow_numpy import jit
from graphflow_numpy.kernels import conv_winograd, winograd2_loops, winograd_loops


def _bt2(d):
    d0, d1, d2, d3 = d
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


def _bt4(d):
    d0, d1, d2, d3, d4, d5 = d
    c2, c4, c5 = (np.float32(v) for v in (2, 4, 5))
    return (c4 * d0 - c5 * d2 + d4, d3 + d4 - c4 * (d1 + d2), c4 * (d1 - d2) - d3 + d4,
            c2 * (d3 - d1) - d2 + d4, c2 * (d1 - d3) - d2 + d4, c4 * d1 - c5 * d3 + d5)


def reference(x, pt, pl, th, tw, m):
    """(V (a^2, p, c), live (p, m^2)) for tiles (image, tile row, tile column) row-major."""
    n, h, w, c = x.shape
    a, bt = m + 2, (_bt2 if m == 2 else _bt4)
    pad = np.zeros((n, th * m + 2 + pt, tw * m + 2 + pl, c), x.dtype)
    pad[:, pt:pt + h, pl:pl + w] = x
    V, live = [], []
    for b in range(n):
        for ti in range(th):
            for tj in range(tw):
                d = pad[b, ti * m:ti * m + a, tj * m:tj * m + a]                 # (a, a, c)
                cols = np.stack(bt(list(d)))                                      # (xi, col, c)
                v = np.stack(bt([cols[:, j] for j in range(a)]), axis=1)          # (xi, nu, c)
                V.append(v.reshape(a * a, c))
                nz = (d != 0).any(axis=-1)
                live.append([nz[i:i + 3, j:j + 3].any() for i in range(m) for j in range(m)])
    return np.stack(V, axis=1), np.array(live)


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("h,w,c,pt,pl", [(9, 8, 5, 1, 1), (8, 8, 3, 0, 0), (7, 6, 33, 1, 0), (5, 11, 1, 0, 1)])
def test_input_tiles_match_the_tile_by_tile_transform(h, w, c, pt, pl, m):
    lp = jit.loops(winograd2_loops if m == 2 else winograd_loops)
    if lp is None:
        pytest.skip("numba not installed: the xp path runs instead")
    rng = np.random.default_rng(h * w + c)
    x = np.maximum(rng.standard_normal((2, h, w, c)), 0).astype(np.float32)
    x[0, :3] = 0          # all-zero rows: dead outputs
    x[1, :, :2] = -0.0    # negative zeros count as zero
    x[1, h // 2, w // 2, 0] = np.nan
    oh, ow = h + 2 * pt - 2, w + 2 * pl - 2
    th, tw = -(-oh // m), -(-ow // m)
    p = 2 * th * tw
    V, live = np.full(((m + 2) ** 2, p, c), 7, np.float32), np.zeros((p, m * m), np.bool_)
    lp.input_tiles(x, pt, pl, 0, 2, 0, th, tw, conv_winograd._consts(np.float32), V, True, live)
    want_v, want_live = reference(x, pt, pl, th, tw, m)
    np.testing.assert_array_equal(V, want_v)
    np.testing.assert_array_equal(live, want_live)
    assert not live.all() and live.any()
