"""max_pool2d / avg_pool2d: values against direct loops, shapes, errors, the tie rule of
the max-pool gradient, and float64 finite-difference gradients."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad


def windows(h, k, s, padding):
    """(start, stop) of each window over the real cells, TF padding."""
    if padding == "same":
        out = -(-h // s)
        before = max((out - 1) * s + k - h, 0) // 2
    else:
        out, before = (h - k) // s + 1, 0
    return [(max(o * s - before, 0), min(o * s - before + k, h)) for o in range(out)]


def ref_pool(x, pool, strides, padding, data_format, reduce):
    if data_format == "channels_first":
        x = x.transpose(0, 2, 3, 1)
    rows = windows(x.shape[1], pool[0], strides[0], padding)
    cols = windows(x.shape[2], pool[1], strides[1], padding)
    y = np.array([[[reduce(x[n, r0:r1, c0:c1, :].reshape(-1, x.shape[3]), axis=0) for (c0, c1) in cols]
                   for (r0, r1) in rows] for n in range(x.shape[0])])
    return y.transpose(0, 3, 1, 2) if data_format == "channels_first" else y


def layout(shape_nhwc, data_format):
    n, h, w, c = shape_nhwc
    return (n, c, h, w) if data_format == "channels_first" else shape_nhwc


CONFIGS = [  # (input hw, pool, strides, padding)
    ((6, 8), (2, 2), None, "valid"),       # tiles exactly
    ((7, 5), (2, 2), None, "valid"),       # drops the odd row / column
    ((7, 5), (2, 2), None, "same"),        # pads the odd row / column (after)
    ((7, 6), (3, 3), (2, 2), "valid"),     # overlapping windows
    ((7, 6), (3, 2), (2, 1), "same"),
    ((5, 5), (3, 3), (1, 1), "same"),      # padding on both sides
    ((6, 9), (1, 3), (1, 3), "valid"),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("hw,pool,strides,padding", CONFIGS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_matches_direct_loops(kind, data_format, hw, pool, strides, padding, native):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(layout((2, *hw, 3), data_format)).astype(np.float32)
    xs = gf.placeholder((None,) + x.shape[1:])
    fn = gf.nn.max_pool2d if kind == "max" else gf.nn.avg_pool2d
    y = fn(xs, pool, strides, padding, data_format)
    got = gf.function([xs], y)(x)
    want = ref_pool(x.astype(np.float64), pool, strides or pool, padding, data_format,
                    np.max if kind == "max" else np.mean)
    assert got.dtype == np.float32 and y.shape == (None,) + want.shape[1:]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("hw,pool,strides,padding", [CONFIGS[i] for i in (0, 2, 3, 5)])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_verify_grad(kind, data_format, hw, pool, strides, padding):
    rng = np.random.default_rng(1)
    shape = layout((1, *hw, 2), data_format)
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1  # distinct values: no ties within eps
    fn = gf.nn.max_pool2d if kind == "max" else gf.nn.avg_pool2d
    verify_grad(lambda a: fn(a, pool, strides, padding, data_format), [x])


def ref_max_grad(x, dy, pool, strides, padding):
    """Route each window's dy to its first maximal cell in row-major scan order (NHWC)."""
    dx = np.zeros_like(x)
    rows = windows(x.shape[1], pool[0], strides[0], padding)
    cols = windows(x.shape[2], pool[1], strides[1], padding)
    for n in range(x.shape[0]):
        for i, (r0, r1) in enumerate(rows):
            for j, (c0, c1) in enumerate(cols):
                for c in range(x.shape[3]):
                    win = x[n, r0:r1, c0:c1, c]
                    a, b = np.unravel_index(np.argmax(win), win.shape)  # argmax: first maximum
                    dx[n, r0 + a, c0 + b, c] += dy[n, i, j, c]
    return dx


@pytest.mark.parametrize("hw,pool,strides,padding", [CONFIGS[i] for i in (0, 2, 3, 5)])
def test_max_pool_gradient_goes_to_first_maximum_at_ties(hw, pool, strides, padding, native):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, size=(2, *hw, 2)).astype(np.float32)  # many ties
    xs = gf.placeholder(x.shape)
    y = gf.nn.max_pool2d(xs, pool, strides, padding)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    (gx,) = gf.gradients([y], [xs], [gf.constant(dy)])
    got = gf.function([xs], gx)(x)
    np.testing.assert_allclose(got, ref_max_grad(x, dy, pool, strides or pool, padding), rtol=1e-6, atol=1e-6)


def test_max_pool_all_equal_window_credits_top_left():
    x = np.ones((1, 4, 4, 1), np.float32)
    xs = gf.placeholder(x.shape)
    got = gf.function([xs], gf.grad(gf.sum(gf.nn.max_pool2d(xs)), xs))(x)
    want = np.zeros((4, 4), np.float32)
    want[::2, ::2] = 1
    np.testing.assert_array_equal(got[0, :, :, 0], want)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_pool_second_order(data_format):
    """AvgPool2DGrad and MaxPool2DGrad are differentiable in their incoming gradient."""
    rng = np.random.default_rng(3)
    x = rng.permutation(50).reshape(layout((1, 5, 5, 2), data_format)) * 0.1
    dy = rng.standard_normal(layout((1, 3, 3, 2), data_format))

    def max_grad(a, g):
        (ga,) = gf.gradients([gf.nn.max_pool2d(a, 2, None, "same", data_format)], [a], [g])
        assert isinstance(ga.node.op, gf.nn.MaxPool2DGrad)
        return ga
    verify_grad(max_grad, [x, dy])

    def avg_grad(a, g):
        (ga,) = gf.gradients([gf.nn.avg_pool2d(a, 3, 2, "same", data_format)], [a], [g])
        return ga
    verify_grad(avg_grad, [x, dy])


def test_pool_shape_inference():
    x = gf.placeholder((None, 7, 7, 4))
    assert gf.nn.max_pool2d(x).shape == (None, 3, 3, 4)  # Keras: valid drops the remainder
    assert gf.nn.max_pool2d(x, padding="SAME").shape == (None, 4, 4, 4)
    assert gf.nn.avg_pool2d(x, (3, 2), (1, 2)).shape == (None, 5, 3, 4)
    y = gf.nn.avg_pool2d(gf.placeholder((None, 4, None, 9)), 2, data_format="channels_first")
    assert y.shape == (None, 4, None, 4)
    x64 = gf.placeholder((2, 4, 4, 1), "float64")
    assert gf.nn.max_pool2d(x64).dtype == "float64"


def test_pool_error_messages():
    with pytest.raises(gf.GraphError, match=r"input height length 1 is smaller than the window 2"):
        gf.nn.max_pool2d(gf.placeholder((None, 1, 8, 3)))
    with pytest.raises(gf.GraphError, match=r"padding must be 'valid' or 'same', got 'causal'"):
        gf.nn.avg_pool2d(gf.placeholder((None, 8, 8, 3)), padding="causal")
    with pytest.raises(gf.GraphError, match=r"4-D"):
        gf.nn.max_pool2d(gf.placeholder((8, 8, 3)))
    with pytest.raises(ValueError, match=r"pool_size must be positive"):
        gf.nn.max_pool2d(gf.placeholder((1, 8, 8, 3)), pool_size=(0, 2))


def ref_index(x, pool, strides, padding):
    """Row-major offset of each window's first maximum, within the full (padded) window."""
    if padding == "same":
        starts = [[o * s - max((-(-n // s) - 1) * s + k - n, 0) // 2 for o in range(-(-n // s))]
                  for n, k, s in zip(x.shape[1:3], pool, strides)]
    else:
        starts = [[o * s for o in range((n - k) // s + 1)] for n, k, s in zip(x.shape[1:3], pool, strides)]
    out = np.zeros((x.shape[0], len(starts[0]), len(starts[1]), x.shape[3]), np.int64)
    for i, r in enumerate(starts[0]):
        for j, c in enumerate(starts[1]):
            win = np.full((x.shape[0], pool[0], pool[1], x.shape[3]), -np.inf)
            r0, c0 = max(r, 0), max(c, 0)
            rows, cols = x[:, r0:r + pool[0], c0:c + pool[1]], None
            win[:, r0 - r:r0 - r + rows.shape[1], c0 - c:c0 - c + rows.shape[2]] = rows
            out[:, i, j] = np.argmax(win.reshape(x.shape[0], -1, x.shape[3]), axis=1)
    return out


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("hw,pool,strides,padding", CONFIGS)
def test_max_pool_records_where_each_window_won(hw, pool, strides, padding, data_format, native):
    """MaxPool2D's second output: the first winner's row-major offset in its window, and
    the gradient is built from it (no search of the windows again)."""
    rng = np.random.default_rng(4)
    x = rng.integers(0, 4, size=(2, *hw, 3)).astype(np.float32)  # many ties
    xs = gf.placeholder(layout(x.shape, data_format))
    y, index = gf.nn.MaxPool2D(pool, strides or pool, padding, data_format)(xs)
    assert index.dtype == "uint8" and index.shape == y.shape
    got = gf.function([xs], index)(x if data_format == "channels_last" else x.transpose(0, 3, 1, 2))
    if data_format == "channels_first":
        got = got.transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(got, ref_index(x, pool, strides or pool, padding))
    (gx,) = gf.gradients([gf.nn.max_pool2d(xs, pool, strides, padding, data_format)], [xs])
    assert isinstance(gx.node.op, gf.nn.MaxPool2DGrad) and isinstance(gx.node.inputs[1].node.op, gf.nn.MaxPool2D)


def test_max_pool_nan_wins_and_takes_the_gradient(native):
    x = np.array([1, 2, np.nan, 5, 0, np.nan, 3, 4], np.float32).reshape(1, 2, 4, 1)
    xs = gf.placeholder(x.shape)
    y = gf.nn.max_pool2d(xs)
    got_y, got_dx = gf.function([xs], [y, gf.grad(gf.sum(y), xs)])(x)
    assert np.isnan(got_y[0, 0, 0, 0]) and np.isnan(got_y[0, 0, 1, 0])
    np.testing.assert_array_equal(got_dx.ravel(), [0, 0, 1, 0, 0, 1, 0, 0])  # the first NaN of each window


def test_max_pool_wide_windows_index_in_int32(native):
    rng = np.random.default_rng(5)
    x = rng.permutation(2 * 17 * 17 * 2).reshape(2, 17, 17, 2).astype(np.float32)
    xs = gf.placeholder(x.shape)
    y, index = gf.nn.MaxPool2D((17, 17), (17, 17))(xs)
    assert index.dtype == "int32"
    dx = gf.function([xs], gf.grad(gf.sum(y), xs))(x)
    np.testing.assert_array_equal(dx, (x == x.max(axis=(1, 2), keepdims=True)).astype(np.float32))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_max_pool_grad_grad_gathers_at_the_winners(data_format, native):
    rng = np.random.default_rng(6)
    x = rng.permutation(2 * 7 * 6 * 3).reshape(layout((2, 7, 6, 3), data_format)).astype(np.float64)
    g = rng.standard_normal(x.shape)
    xs, gs = gf.placeholder(x.shape, "float64"), gf.placeholder(x.shape, "float64")
    y, index = gf.nn.MaxPool2D((3, 3), (2, 2), "same", data_format)(xs)
    gg = gf.nn.MaxPool2DGradGrad((3, 3), (2, 2), "same", data_format)(xs, index, gs)
    got = gf.function([xs, gs], gg)(x, g)
    xl = x if data_format == "channels_last" else x.transpose(0, 2, 3, 1)
    gl = g if data_format == "channels_last" else g.transpose(0, 2, 3, 1)
    idx = ref_index(xl, (3, 3), (2, 2), "same")
    picked = np.zeros(idx.shape)
    for n, i, j, c in np.ndindex(*idx.shape):
        r, s = i * 2 - 1 + idx[n, i, j, c] // 3, j * 2 + idx[n, i, j, c] % 3  # 'same' pads rows 1|1, cols 0|1
        picked[n, i, j, c] = gl[n, r, s, c]
    np.testing.assert_allclose(got if data_format == "channels_last" else got.transpose(0, 2, 3, 1), picked)


def test_pool_scratch_bytes():
    from graphflow_numpy import jit
    from graphflow_numpy.kernels import nn_pool
    fast = jit.available()
    assert nn_pool.scratch_bytes(gf.nn.MaxPool2D(), [(32, 96, 96, 32)]) == (0 if fast else 32 * 48 * 48 * 32 * 4)
    assert nn_pool.scratch_bytes(gf.nn.MaxPool2D(), [(32, 96, 96, 32)], cpu=False) == 32 * 48 * 48 * 32 * 4  # portable
    # 'same' 3x3 / 2 on 7x7 pads to 9x9: the padded copy and one window-sized temporary
    assert nn_pool.scratch_bytes(gf.nn.AvgPool2D((3, 3), (2, 2), "same"), [(2, 7, 7, 3)]) == (2 * 81 * 3 + 2 * 16 * 3) * 4


def test_max_pool_gradient_paths_agree_bit_for_bit(monkeypatch):
    """Overlapping windows: a cell that wins several sums their dy in one fixed order,
    with the numba loops and on the xp path (which the CuPy backend runs)."""
    from graphflow_numpy import jit
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, (2, 9, 8, 3)).astype(np.float32)
    dy = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    xs = gf.placeholder(x.shape)
    (gx,) = gf.gradients([gf.nn.max_pool2d(xs, 3, 1, "same")], [xs], [gf.constant(dy)])
    fast = gf.function([xs], gx)(x)
    monkeypatch.setattr(jit, "loops", lambda module: None)
    np.testing.assert_array_equal(gf.function([xs], gx)(x), fast)


def test_max_pool_2x2_loop_matches_the_general_loop():
    """``max_forward_2x2`` (2x2 windows, stride 2, no padding) against ``max_forward`` on
    ties, NaNs (first NaN of a window wins) and an odd size (last row / column dropped),
    with enough channels for the vectorised channel loop: same values, same offsets."""
    from graphflow_numpy import jit
    from graphflow_numpy.kernels import pool_loops
    lp = jit.loops(pool_loops)
    if lp is None:
        pytest.skip("numba not installed: the xp path runs (tested above)")
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, size=(3, 9, 7, 37)).astype(np.float32)  # many ties
    x[rng.random(x.shape) < 0.05] = np.nan
    want_y, want_i = np.empty((3, 4, 3, 37), np.float32), np.empty((3, 4, 3, 37), np.uint8)
    got_y, got_i = np.empty_like(want_y), np.empty_like(want_i)
    lp.max_forward(x, 2, 2, 2, 2, 0, 0, 0, 3, want_y, want_i)
    lp.max_forward_2x2(x, 0, 3, got_y, got_i)
    np.testing.assert_array_equal(got_y, want_y)  # (NaN == NaN in assert_array_equal)
    np.testing.assert_array_equal(got_i, want_i)
    assert np.isnan(got_y).any() and (got_i == 3).any()
