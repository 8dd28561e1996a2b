"""Fused element-wise groups run in cache-sized blocks over the cores: the same values
as running them whole, for every broadcasting pattern, in place or not."""
import numpy as np
import pytest

import graphflow as gf
from graphflow_numpy.kernels import fused_blocks


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of 7 elements from outputs of 40: every group below runs blocked (counted)."""
    monkeypatch.setattr(fused_blocks, "BLOCK_ELEMENTS", 7)
    monkeypatch.setattr(fused_blocks, "MIN_ELEMENTS", 40)
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
