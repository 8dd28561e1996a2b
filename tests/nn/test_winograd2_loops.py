"""F(2x2, 3x3)'s input transform loop (``winograd2_loops.input_tiles``, which shares each
column's row pass between the two tiles that read it) against the transform written
tile by tile in NumPy float32: the same V bit for bit, and the same live flags (an output
is live when its 3x3 x C receptive field holds a non-zero value; padding is zero)."""
import numpy as np
import pytest

from graphflow_numpy import jit
from graphflow_numpy.kernels import conv_winograd, winograd2_loops


def _bt(d0, d1, d2, d3):
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


def reference(x, pt, pl, th, tw):
    """(V (16, p, c), live (p, 4)) for tiles (image, tile row, tile column) row-major."""
    n, h, w, c = x.shape
    pad = np.zeros((n, th * 2 + 2 + pt, tw * 2 + 2 + pl, c), x.dtype)
    pad[:, pt:pt + h, pl:pl + w] = x
    V, live = [], []
    for b in range(n):
        for ti in range(th):
            for tj in range(tw):
                d = pad[b, ti * 2:ti * 2 + 4, tj * 2:tj * 2 + 4]            # (4, 4, c)
                rows = np.stack(_bt(d[0], d[1], d[2], d[3]))                 # (xi, col, c)
                v = np.stack(_bt(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]), axis=1)  # (xi, nu, c)
                V.append(v.reshape(16, c))
                nz = (d != 0).any(axis=-1)
                live.append([nz[i:i + 3, j:j + 3].any() for i in range(2) for j in range(2)])
    return np.stack(V, axis=1), np.array(live)


@pytest.mark.parametrize("h,w,c,pt,pl", [(9, 8, 5, 1, 1), (8, 8, 3, 0, 0), (7, 6, 33, 1, 0), (5, 11, 1, 0, 1)])
def test_input_tiles_match_the_tile_by_tile_transform(h, w, c, pt, pl):
    lp = jit.loops(winograd2_loops)
    if lp is None:
        pytest.skip("numba not installed: the xp path runs instead")
    rng = np.random.default_rng(h * w + c)
    x = np.maximum(rng.standard_normal((2, h, w, c)), 0).astype(np.float32)
    x[0, :3] = 0          # all-zero rows: dead outputs
    x[1, :, :2] = -0.0    # negative zeros count as zero
    x[1, h // 2, w // 2, 0] = np.nan
    oh, ow = h + 2 * pt - 2, w + 2 * pl - 2
    th, tw = -(-oh // 2), -(-ow // 2)
    p = 2 * th * tw
    V, live = np.full((16, p, c), 7, np.float32), np.zeros((p, 4), np.bool_)
    lp.input_tiles(x, pt, pl, 0, 2, 0, th, tw, conv_winograd._consts(np.float32), V, True, live)
    want_v, want_live = reference(x, pt, pl, th, tw)
    np.testing.assert_array_equal(V, want_v)
    np.testing.assert_array_equal(live, want_live)
    assert not live.all() and live.any()
