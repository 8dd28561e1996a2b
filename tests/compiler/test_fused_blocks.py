"""Fused element-wise groups run in cache-sized blocks over the cores: the same values
as running them whole, for every broadcasting pattern, in place or not."""
import os

import numpy as np
import pytest

import graphflow as gf
from graphflow_numpy.kernels import fused_blocks, fused_loops, reductions


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of 7 elements from outputs of 40: every group below runs blocked (counted)."""
    monkeypatch.setattr(fused_blocks, "BLOCK_ELEMENTS", 7)
    monkeypatch.setattr(fused_blocks, "MIN_ELEMENTS", 40)
    monkeypatch.setattr(fused_loops, "loop_for", lambda *a: None)  # the NumPy plan, blocked
    calls = []
    real = fused_blocks.run_blocked
    monkeypatch.setattr(fused_blocks, "run_blocked", lambda *a: calls.append(a[1]) or real(*a))
    return calls


CASES = {
    "same shapes": ((None, 6, 5, 4), [(None, 6, 5, 4)]),
    "bias over channels": ((None, 6, 5, 4), [(4,)]),
    "per-image scale": ((None, 6, 5, 4), [(None, 1, 1, 1)]),
    "row vector": ((None, 9), [(1, 9)]),
    "column": ((None, 9), [(None, 1)]),
    "scalar": ((None, 9), [()]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_blocked_groups_equal_whole_groups(tiny_blocks, name, rng):
    shape, others = CASES[name]
    x = gf.placeholder(shape, "float64")
    ys = [gf.placeholder(s, "float64") for s in others]
    h = gf.tanh(x * 1.5 + 0.5)
    for y in ys:
        h = gf.maximum(h * y, h - y) + gf.sigmoid(y)
    out = gf.exp(-h) * 2.0 - 1.0
    f = gf.function([x] + ys, out)
    assert [n.op.op_name() for n in f.program.schedule] == ["fused"]
    for batch in (3, 1, 8):
        args = [rng.normal(size=tuple(batch if d is None else d for d in ph.shape)) for ph in [x] + ys]
        want = gf.function([x] + ys, out, optimize="O0")(*args)
        np.testing.assert_allclose(f(*args), want, rtol=1e-12)
    assert tiny_blocks, "the blocked path ran"


def test_blocked_group_working_in_place_over_its_dying_input(tiny_blocks, rng):
    x = gf.placeholder((None, 10, 8), "float64")
    a = gf.tanh(x * 2.0) + 1.0                 # dies in the next group: its buffer is reused
    b = gf.exp(gf.nn.softmax(a) * a) - 0.5
    f = gf.function([x], gf.sum(b, axis=-1))
    assert f.program.memory.inplace_pairs() >= 1
    data = rng.normal(size=(5, 10, 8))
    want = gf.function([x], gf.sum(b, axis=-1), optimize="O0")(data)
    for _ in range(2):
        np.testing.assert_allclose(f(data), want, rtol=1e-12)


def test_block_view_merges_leading_axes_only_where_every_input_allows():
    shape, x = (4, 6, 5, 3), np.ones((4, 6, 5, 3))
    assert fused_blocks._mergeable([x, np.ones(3)], shape, 3)
    assert not fused_blocks._mergeable([x, np.ones(3)], shape, 4)      # the bias varies along axis 3
    assert not fused_blocks._mergeable([x, np.ones((4, 1, 5, 3))], shape, 2)
    assert fused_blocks._mergeable([x, np.ones((4, 1, 5, 3))], shape, 1)
    assert not fused_blocks._mergeable([x[:, ::-1]], shape, 2)          # not contiguous: no merge


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_epilogue_runs_on_each_block_in_cache(monkeypatch, rng, data_format):
    from graphflow_numpy.kernels import fused as fused_kernels
    blocks = []
    real = fused_kernels._on_blocks
    monkeypatch.setattr(fused_kernels, "_on_blocks",
                        lambda *a: (lambda fn: (lambda y, i: blocks.append(i) or fn(y, i)))(real(*a)))
    shape = (None, 12, 12, 3) if data_format == "channels_last" else (None, 3, 12, 12)
    x = gf.placeholder(shape, "float64")
    k = gf.variable(rng.normal(size=(3, 3, 3, 5)))
    b = gf.variable(rng.normal(size=5))
    y = gf.relu(gf.nn.bias_add(gf.nn.conv2d(x, k, padding="same", data_format=data_format), b, data_format))
    skip = gf.placeholder((None, 12, 12, 5) if data_format == "channels_last" else (None, 5, 12, 12), "float64")
    out = gf.tanh(y + skip)   # a full-shaped input: each block takes its slice
    f = gf.function([x, skip], out)
    assert "fused_epilogue" in [n.op.op_name() for n in f.program.schedule]  # (and the bias reshape, NCHW)
    a, s = rng.normal(size=(4,) + shape[1:]), rng.normal(size=(4,) + skip.shape[1:])
    np.testing.assert_allclose(f(a, s), gf.function([x, skip], out, optimize="O0")(a, s), rtol=1e-10)
    assert blocks


# ---------------------------------------------------------------- compiled loops (numba)
from graphflow_numpy import jit  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_property import build, feed  # noqa: E402

needs_numba = pytest.mark.skipif(not jit.available(), reason="numba is not installed")


@needs_numba
@settings(max_examples=int(os.environ.get("GRAPHFLOW_DEEP_EXAMPLES", 10)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_loops_equal_the_step_by_step_plan(data):
    """Random element-wise graphs (test_property's builder) with every group large enough
    for a compiled loop: the values of O0 (no fusion) to the last few ulps."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fused_blocks, "MIN_ELEMENTS", 1)
        _loops_equal_o0(data, build, feed)


def _loops_equal_o0(data, build, feed):
    phs, outs, cost = build(data)
    grads = gf.grad(cost, phs)
    f0 = gf.function(phs, outs + grads, optimize="O0")
    f2 = gf.function(phs, outs + grads, optimize="O2")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31), label="seed"))
    for batch in (4, 2):
        args = feed(phs, [batch] * len(phs), rng)
        for want, got in zip(f0(*args), f2(*args)):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@needs_numba
def test_loop_source_follows_numpy_semantics_for_nan_and_clip():
    x = gf.placeholder((None,), "float32")
    out = gf.clip(gf.maximum(x, 0.0), -1.0, 2.0) + gf.minimum(x, 1.0) * gf.nn.relu(x) + gf.sigmoid(x)
    f = gf.function([x], out)
    assert [n.op.op_name() for n in f.program.schedule] == ["fused"]
    a = np.array([np.nan, -np.inf, np.inf, -3, -0.0, 0.5, 7] * 30000, np.float32)
    # float32 tanh (inside sigmoid) from numba's libm vs NumPy's SIMD: an ulp apart, which
    # sigmoid's (1 + tanh) can make a few ulps of the result
    np.testing.assert_allclose(f(a), gf.function([x], out, optimize="O0")(a), rtol=2e-6, equal_nan=True)
    (fused,) = f.program.schedule
    assert f.executor.steps[0][0] is not None
    n = fused.op.n_inputs
    source = fused_loops.loop_source(fused.op, ["float32"] * n, (False,) + (True,) * (n - 1),
                                     [o.dtype for o in fused.op.step_types([t.type for t in fused.inputs])[n:]])
    assert "if (a0 >= np.float32(0) or a0 != a0)" in source  # maximum keeps NaN, as NumPy's


def test_groups_without_a_scalar_form_keep_the_numpy_plan():
    from graphflow.ops.fused import Fused
    from graphflow.ops.nn.activations import Gelu
    op = Fused(((Gelu(), (0,)),), 1)
    assert fused_loops.loop_source(op, ["float32"], (False,), ["float32"]) is None


def test_leading_sums_split_over_the_cores_agree(monkeypatch, rng):
    monkeypatch.setattr(reductions, "SPLIT_MIN", 10)
    x = gf.placeholder((None, 7, 5), "float64")
    f = gf.function([x], [gf.sum(x, (0, 1)), gf.mean(x, 0, keepdims=True), gf.sum(x, 2)])
    a = rng.normal(size=(9, 7, 5))
    s01, m0, s2 = f(a)
    np.testing.assert_allclose(s01, a.sum((0, 1)), rtol=1e-12)
    np.testing.assert_allclose(m0, a.mean(0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(s2, a.sum(2), rtol=1e-12)


def test_a_single_row_is_not_cut(monkeypatch):
    monkeypatch.setattr(fused_blocks, "MIN_ELEMENTS", 1)
    assert fused_blocks.block_view([np.ones((1, 3)), np.ones(3)], np.empty((1, 3))) is None
    rows, views, spans, out = fused_blocks.block_view([np.ones((2, 3)), np.ones(3)], np.empty((2, 3)))
    assert (rows, spans, out.shape) == (2, [True, False], (2, 3))


def test_the_route_is_decided_once_per_signature(monkeypatch, rng):
    """Which runner a fused group takes (compiled loop, blocks, whole) is decided on the
    first call of an input signature and kept: later calls ask no one again."""
    monkeypatch.setattr(fused_blocks, "MIN_ELEMENTS", 40)
    asked = []
    real = fused_blocks.block_view
    monkeypatch.setattr(fused_loops, "loop_for", lambda *a: asked.append("loop") or None)
    monkeypatch.setattr(fused_blocks, "block_view", lambda *a: asked.append("blocks") or real(*a))
    x, b = gf.placeholder((None, 9), "float64"), gf.placeholder((9,), "float64")
    f = gf.function([x, b], gf.tanh(x * 2.0 + b))
    (step,) = f.executor.steps
    run = step[0]
    for n in (10, 10, 10, 2, 2):
        xs, bs = rng.normal(size=(n, 9)), rng.normal(size=9)
        np.testing.assert_allclose(f(xs, bs), np.tanh(xs * 2.0 + bs))
    # big batch: loop asked (declines), blocks chosen (asked again per call to cut the views);
    # small batch: whole, decided without asking anyone
    assert asked.count("loop") == 1
    assert sorted(r.kind for r in run.routes.values()) == ["blocks", "whole"]
