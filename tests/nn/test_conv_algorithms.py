"""Every convolution algorithm of the NumPy backend (blocked im2col, Winograd F(4x4) and
F(2x2), with and without the numba loops) against direct loops: values and both
gradients for every stride / padding / dilation / format the tests cover, cache-sized
work units cut down to single rows, odd thread counts, float32 accuracy, and the
scratch the memory report is told about."""
import threading

import numpy as np
import pytest

import graphflow as gf
from graphflow_numpy import jit
from graphflow_numpy.kernels import _scratch, conv_im2col, conv_winograd, nn_conv
from graphflow_numpy.kernels.conv_geometry import ConvGeometry

from conv_reference import ref_conv, ref_conv_grads

CONFIGS = [  # (input hw, kernel hw, strides, padding, dilation)
    ((6, 7), (3, 3), (1, 1), "valid", (1, 1)),
    ((6, 7), (3, 3), (1, 1), "same", (1, 1)),
    ((9, 11), (3, 3), (1, 1), "same", (1, 1)),    # tiles hang off the bottom and right edges
    ((5, 6), (2, 2), (1, 1), "same", (1, 1)),
    ((7, 8), (3, 2), (2, 2), "same", (1, 1)),
    ((7, 8), (2, 3), (2, 3), "valid", (1, 1)),
    ((8, 7), (3, 3), (1, 1), "same", (2, 2)),
    ((9, 8), (3, 2), (1, 1), "valid", (2, 3)),
    ((5, 5), (1, 1), (2, 2), "valid", (1, 1)),
    ((5, 5), (1, 1), (1, 1), "valid", (1, 1)),    # pointwise: the input is the column matrix
    ((6, 6), (4, 4), (3, 3), "same", (1, 1)),
]
ALGOS = ["im2col", "winograd", "winograd2", "direct"]


def run_all(x, k, dy, args):
    xs, ks, dys = (gf.placeholder(a.shape, str(a.dtype)) for a in (x, k, dy))
    y = gf.nn.conv2d(xs, ks, *args)
    fields = (args[0], args[1], args[2], args[3])
    dx = gf.nn.Conv2DBackpropInput(*fields)(xs, ks, dys)
    dk = gf.nn.Conv2DBackpropFilter(*fields)(xs, ks, dys)
    return gf.function([xs, ks, dys], [y, dx, dk])(x, k, dy)


def data(rng, hw, khw, data_format, c=3, o=4, n=2, dtype=np.float64):
    shape = (n, *hw, c) if data_format == "channels_last" else (n, c, *hw)
    return rng.standard_normal(shape).astype(dtype), rng.standard_normal((*khw, c, o)).astype(dtype)


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("hw,khw,strides,padding,dilation", CONFIGS)
def test_values_and_gradients_match_direct_loops(algo, native, data_format, hw, khw, strides, padding,
                                                 dilation, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_CONV", algo)
    rng = np.random.default_rng(0)
    args = (strides, padding, data_format, dilation)
    x, k = data(rng, hw, khw, data_format)
    want_y = ref_conv(x, k, *args)
    dy = rng.standard_normal(want_y.shape)
    want_dx, want_dk = ref_conv_grads(x, k, dy, *args)
    y, dx, dk = run_all(x, k, dy, args)
    np.testing.assert_allclose(y, want_y, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dk, want_dk, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("algo", ["im2col", "winograd"])
@pytest.mark.parametrize("threads", ["1", "3"])
def test_single_row_work_units_and_odd_thread_counts(algo, native, threads, monkeypatch):
    """Units cut down to one output row (im2col) or one tile row (Winograd) of one image,
    spread over 1 or 3 threads, give the same values."""
    monkeypatch.setenv("GRAPHFLOW_CONV", algo)
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", threads)
    monkeypatch.setattr(conv_im2col, "BUDGET", 1)
    monkeypatch.setattr(conv_winograd, "BUDGET", 1)
    monkeypatch.setattr(conv_winograd, "MIN_TILES", 1)
    rng = np.random.default_rng(1)
    args = ((1, 1), "same", "channels_last", (1, 1))
    x, k = data(rng, (10, 13), (3, 3), "channels_last", c=5, o=6, n=3)
    dy = rng.standard_normal(ref_conv(x, k, *args).shape)
    want_dx, want_dk = ref_conv_grads(x, k, dy, *args)
    y, dx, dk = run_all(x, k, dy, args)
    np.testing.assert_allclose(y, ref_conv(x, k, *args), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dk, want_dk, rtol=1e-10, atol=1e-10)


def test_results_repeat_bit_for_bit(monkeypatch):
    """Which rows go to which thread depends only on the shapes and the thread count."""
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", "2")
    rng = np.random.default_rng(2)
    x, k = data(rng, (20, 20), (3, 3), "channels_last", c=16, o=16, n=4, dtype=np.float32)
    dy = rng.standard_normal((4, 18, 18, 16)).astype(np.float32)
    first = run_all(x, k, dy, ((1, 1), "valid", "channels_last", (1, 1)))
    for _ in range(3):
        again = run_all(x, k, dy, ((1, 1), "valid", "channels_last", (1, 1)))
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("algo,bound", [("im2col", 2e-6), ("winograd2", 4e-6), ("winograd", 3e-5)])
def test_float32_error_against_float64(algo, bound, monkeypatch):
    """max |y32 - y64| / max |y64| over a 64-channel layer with unit-variance outputs; the
    bounds are about 3x what was measured (docs/performance.md)."""
    monkeypatch.setenv("GRAPHFLOW_CONV", algo)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 18, 18, 64))
    k = rng.standard_normal((3, 3, 64, 64)) / np.sqrt(9 * 64)
    dy = rng.standard_normal((2, 16, 16, 64))
    want = [ref_conv(x, k), *ref_conv_grads(x, k, dy)]
    got = run_all(x.astype(np.float32), k.astype(np.float32), dy.astype(np.float32),
                  ((1, 1), "valid", "channels_last", (1, 1)))
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        assert np.abs(g - w).max() / np.abs(w).max() < bound


def test_choice_of_algorithm(monkeypatch):
    monkeypatch.delenv("GRAPHFLOW_CONV", raising=False)
    geo = lambda n, h, c, o, **kw: ConvGeometry.of(gf.nn.Conv2D(**kw), (n, h, h, c), (3, 3, c, o))
    fast = jit.available()
    # exact (default): F(2x2) for a layer's output, F(4x4) for gradients; winograd-fast: F(4x4)
    assert nn_conv.choose(geo(32, 98, 32, 32)) == (("winograd", 2) if fast else ("im2col", 0))
    assert nn_conv.choose(geo(32, 98, 32, 32), input_pass=True) == (("winograd", 4) if fast else ("im2col", 0))
    assert nn_conv.choose(geo(32, 98, 32, 32), filter_pass=True) == (("winograd", 4) if fast else ("im2col", 0))
    assert nn_conv.choose(geo(32, 98, 32, 32), exact=False) == (("winograd", 4) if fast else ("im2col", 0))
    assert nn_conv.choose(geo(32, 7, 128, 256), exact=False) == ("im2col", 0)  # 5x5: 4x4 tiles 39% used
    assert nn_conv.choose(geo(32, 7, 128, 256)) == (("winograd", 2) if fast else ("im2col", 0))  # 69%
    # few input channels (an image): im2col / F(2x2) exact, the direct loop in the fast
    # mode; the filter gradient: Winograd
    assert nn_conv.choose(geo(32, 28, 1, 32)) == ("im2col", 0)         # one input channel
    assert nn_conv.choose(geo(32, 100, 3, 32)) == (("winograd", 2) if fast else ("im2col", 0))
    assert nn_conv.choose(geo(32, 100, 3, 32), exact=False) == (("direct", 0) if fast else ("im2col", 0))
    assert nn_conv.choose(geo(32, 28, 1, 32), exact=False) == (("direct", 0) if fast else ("im2col", 0))
    assert nn_conv.choose(geo(32, 100, 3, 32), filter_pass=True) == (("winograd", 4) if fast else ("im2col", 0))
    assert nn_conv.choose(geo(8, 9, 4, 4, strides=(2, 2))) == ("im2col", 0)
    # the portable kernels (cpu=False: CuPy's parent table): im2col unless Winograd is forced
    for kw in ({}, {"exact": False}, {"filter_pass": True}, {"input_pass": True}):
        assert nn_conv.choose(geo(32, 98, 32, 32), cpu=False, **kw) == ("im2col", 0)
        assert nn_conv.choose(geo(32, 100, 3, 32), cpu=False, **kw) == ("im2col", 0)   # never direct
    monkeypatch.setenv("GRAPHFLOW_CONV", "direct")
    assert nn_conv.choose(geo(32, 100, 3, 32), cpu=False) == ("im2col", 0)
    monkeypatch.setenv("GRAPHFLOW_CONV", "winograd")
    assert nn_conv.choose(geo(32, 98, 32, 32), cpu=False) == ("winograd", 4)
    monkeypatch.setenv("GRAPHFLOW_CONV", "winograd2")
    assert nn_conv.choose(geo(32, 7, 128, 256)) == ("winograd", 2)
    monkeypatch.setenv("GRAPHFLOW_CONV", "fft")
    with pytest.raises(ValueError, match=r"GRAPHFLOW_CONV must be one of auto, im2col, winograd, winograd2, "
                                         r"direct, got 'fft'"):
        nn_conv.choose(geo(32, 98, 32, 32))


@pytest.mark.parametrize("op_type", [gf.nn.Conv2D, gf.nn.Conv2DBackpropInput, gf.nn.Conv2DBackpropFilter])
@pytest.mark.parametrize("algo,strides", [("im2col", (1, 1)), ("winograd", (1, 1)), ("im2col", (2, 2))])
def test_scratch_bytes_covers_what_a_call_holds(op_type, algo, strides, monkeypatch):
    """Run in a fresh thread (empty scratch pool) with one thread of work: the scratch it
    then holds is what ``scratch_bytes`` said, within the rounding of work units."""
    from graphflow_numpy import jit
    if algo == "winograd" and not jit.available():
        pytest.skip("without numba Winograd's array formulation allocates its tiles: no scratch pool")
    monkeypatch.setenv("GRAPHFLOW_CONV", algo)
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", "1")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 30, 30, 16)).astype(np.float32)
    k = rng.standard_normal((3, 3, 16, 8)).astype(np.float32)
    op = op_type(strides=strides)
    dy = rng.standard_normal(ConvGeometry.of(op, x.shape, k.shape).out_shape).astype(np.float32)
    ins = [x, k] if op_type is gf.nn.Conv2D else [x, k, dy]
    phs = [gf.placeholder(a.shape, "float32") for a in ins]
    f = gf.function(phs, op(*phs))
    held = []
    t = threading.Thread(target=lambda: (f(*ins), held.append(_scratch.held_bytes())))
    t.start()
    t.join()
    said = nn_conv.scratch_bytes(op, [a.shape for a in ins])
    assert 0 < held[0] <= said <= 2 * held[0] + (64 << 10)


def test_pointwise_needs_no_scratch():
    op = gf.nn.Conv2D()
    assert nn_conv.scratch_bytes(op, [(8, 10, 10, 16), (1, 1, 16, 4)]) == 0
    nchw = gf.nn.Conv2D(data_format="channels_first")
    assert nn_conv.scratch_bytes(nchw, [(8, 16, 10, 10), (1, 1, 16, 4)]) == (8 * 100 * 16 + 8 * 100 * 4) * 4


def test_each_table_declares_the_scratch_of_its_own_algorithm(monkeypatch):
    """The CPU table's conv kernels declare the scratch of the algorithm they take (F(2x2)
    Winograd here, with numba), the portable table's that of im2col, which it takes."""
    from graphflow_numpy import CPU_KERNELS, KERNELS, jit
    monkeypatch.delenv("GRAPHFLOW_CONV", raising=False)
    op, shapes = gf.nn.Conv2D(padding="same"), [(32, 98, 98, 32), (3, 3, 32, 32)]
    g = ConvGeometry.of(op, *shapes)
    cpu = CPU_KERNELS.spec(gf.nn.Conv2D).scratch_bytes(op, shapes, 4, np)
    portable = KERNELS.spec(gf.nn.Conv2D).scratch_bytes(op, shapes, 4, np)
    assert portable == nn_conv.scratch_bytes(op, shapes, cpu=False) == conv_im2col.scratch_bytes(g, 4)
    assert cpu == nn_conv.scratch_bytes(op, shapes)
    if jit.available():
        assert cpu == conv_winograd.scratch_bytes(g, 2, 4) != portable


def test_geometry_of_the_input_gradient():
    g = ConvGeometry.of(gf.nn.Conv2D(padding="same", dilation=(2, 1)), (2, 9, 7, 3), (3, 2, 3, 5))
    t = g.transposed()
    assert (t.in_shape, t.kernel_shape, t.out_shape) == ((2, 9, 7, 5), (3, 2, 5, 3), (2, 9, 7, 3))
    assert t.pads == (2, 2, 1, 0)   # dy padded by (k_eff - 1) minus the forward padding, each side
    assert g.valid_range(0, 0, 0, 9) == (2, 9)       # tap 0 reads row i - 2: real from i = 2
    assert g.source(0, 0, 2, 9) == slice(0, 7, 1)
    with pytest.raises(ValueError, match="stride-1"):
        ConvGeometry.of(gf.nn.Conv2D(strides=(2, 2)), (1, 8, 8, 1), (3, 3, 1, 1)).transposed()


@pytest.mark.parametrize("algo", ["im2col", "winograd"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_epilogue_runs_on_every_block_once(algo, data_format, monkeypatch):
    """The conv kernel's epilogue hook: bias + relu applied block by block, in place, gives
    relu(conv + bias), and the blocks cover the output exactly once."""
    from graphflow_numpy import KERNELS
    monkeypatch.setenv("GRAPHFLOW_CONV", algo)
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", "2")
    monkeypatch.setattr(conv_im2col, "BUDGET", 2000)
    monkeypatch.setattr(conv_winograd, "BUDGET", 2000)
    monkeypatch.setattr(conv_winograd, "MIN_TILES", 1)
    rng = np.random.default_rng(7)
    x, k = data(rng, (11, 9), (3, 3), data_format, c=4, o=5, n=3, dtype=np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    xs = gf.placeholder(x.shape)
    y = gf.nn.conv2d(xs, gf.constant(k), padding="same", data_format=data_format)
    run = KERNELS.lookup(gf.nn.Conv2D)(y.node.op, y.node, np)
    axes = (1, 2) if data_format == "channels_last" else (2, 3)
    seen = np.zeros((3, 11), np.int64)
    lock = threading.Lock()

    def epilogue(result, index):
        images, rows = index
        with lock:
            seen[images, rows] += 1
        block = [slice(None)] * 4
        block[0], block[axes[0]] = images, rows
        view = result[tuple(block)]
        bias = b if data_format == "channels_last" else b[:, None, None]
        np.maximum(view + bias, 0, out=view)
    got = run(x, k, epilogue=epilogue)
    want = ref_conv(x.astype(np.float64), k.astype(np.float64), padding="same", data_format=data_format)
    bias = b if data_format == "channels_last" else b[:, None, None]
    np.testing.assert_allclose(got, np.maximum(want + bias, 0), rtol=1e-4, atol=1e-4)
    assert (seen == 1).all()


@pytest.mark.parametrize("algo", ["im2col", "winograd"])
def test_results_never_alias_scratch(algo, monkeypatch):
    """channels_first with one filter: the channels-last scratch transposed is already
    contiguous; the result must still be its own array, untouched by the next call."""
    monkeypatch.setenv("GRAPHFLOW_CONV", algo)
    rng = np.random.default_rng(8)
    xs = gf.placeholder((2, 3, 8, 8))
    k = gf.constant(rng.standard_normal((3, 3, 3, 1)).astype(np.float32))
    f = gf.function([xs], gf.nn.conv2d(xs, k, data_format="channels_first"))
    a, b = (rng.standard_normal((2, 3, 8, 8)).astype(np.float32) for _ in range(2))
    first = f(a)
    kept = first.copy()
    f(b)
    np.testing.assert_array_equal(first, kept)
