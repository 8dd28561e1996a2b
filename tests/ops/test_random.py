"""Counter-based random ops: Philox-4x32-10 known answers, the stream's definition,
statistics, fresh draws per call, replay by seed, and the compiled loop (numba) giving
the same words as the array formulation every backend shares."""
from __future__ import annotations

import numpy as np
import pytest

import graphflow as gf
from graphflow.ops import random as rnd
from graphflow_numpy import jit
from graphflow_numpy.kernels import random as kr

# Random123's published known-answer vectors for philox4x32-10
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.fixture
def array_path(monkeypatch):
    """The array formulation (what CuPy runs), with numba switched off."""
    monkeypatch.setenv("GRAPHFLOW_NO_JIT", "1")
    monkeypatch.setattr(jit, "_numba", [])
    kr._compiled_fill.cache_clear()
    yield
    kr._compiled_fill.cache_clear()
    monkeypatch.setattr(jit, "_numba", [])


@pytest.mark.parametrize("ctr, key, want", KAT)
def test_philox_known_answers(ctr, key, want):
    words = kr.philox4x32(np, *[np.array([c], np.uint32) for c in ctr], *key)
    assert tuple(int(w[0]) for w in words) == want


def test_stream_layout_block_and_counter_words():
    seed, c = 0x0123456789ABCDEF, 2**33 + 5
    words = kr.philox_words(np, seed, np.array(c, np.int64), 10)
    for b in range(3):
        block = kr.philox4x32(np, *[np.array([v], np.uint32) for v in (b, 0, c & 0xFFFFFFFF, c >> 32)],
                              seed & 0xFFFFFFFF, seed >> 32)
        expect = [int(w[0]) for w in block][: 10 - 4 * b]
        assert words[4 * b: 4 * b + 4].tolist() == expect


@pytest.mark.skipif(not jit.available(), reason="numba is not installed")
def test_compiled_loop_gives_the_array_formulations_words():
    """``cpu=True`` (the NumPy backend's kernels) fills host arrays with the compiled
    loop; the portable array formulation (any ``xp``) gives the same words and mask."""
    c = np.array(41, np.int64)
    assert kr._compiled_fill() is not None
    fast_words = kr.philox_words(np, 2**63 + 17, c, 1001, cpu=True)
    fast_mask = kr.dropout_mask(np, 2**63 + 17, c, (7, 11, 13), 0.3, np.float32, cpu=True)
    np.testing.assert_array_equal(kr.philox_words(np, 2**63 + 17, c, 1001), fast_words)
    np.testing.assert_array_equal(kr.dropout_mask(np, 2**63 + 17, c, (7, 11, 13), 0.3, np.float32), fast_mask)


def test_dropout_mask_is_the_uniform_compared_with_the_rate():
    c = np.array(3, np.int64)
    u = kr.uniform(np, 99, c, (40, 50), "float32")
    mask = kr.dropout_mask(np, 99, c, (40, 50), 0.4, np.float32)
    np.testing.assert_array_equal(mask, np.where(u >= np.float32(0.4), np.float32(1 / 0.6), 0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_and_normal_statistics(dtype, rng):
    seed = int(rng.integers(2**63))
    x = gf.placeholder((None, 1000), dtype)
    u = gf.random_uniform(x, low=-2.0, high=3.0, seed=seed)
    z = gf.random_normal(x, mean=1.0, stddev=2.0, seed=seed)
    f = gf.function([x], [u, z])
    uu, zz = f(np.zeros((200, 1000), dtype))
    assert uu.dtype == zz.dtype == dtype and uu.shape == zz.shape == (200, 1000)
    assert uu.min() >= -2.0 and uu.max() < 3.0
    assert abs(uu.mean() - 0.5) < 0.02 and abs(uu.std() - 5 / np.sqrt(12)) < 0.02
    assert abs(zz.mean() - 1.0) < 0.02 and abs(zz.std() - 2.0) < 0.02
    assert np.isfinite(zz).all()
    # a Kolmogorov-Smirnov distance against the exact CDFs
    from math import erf
    s = np.sort(zz.ravel()[:20000])
    cdf = 0.5 * (1 + np.vectorize(erf)((s - 1.0) / (2.0 * np.sqrt(2))))
    assert np.max(np.abs(cdf - np.arange(1, s.size + 1) / s.size)) < 0.015


def test_every_call_draws_fresh_numbers_and_a_seed_replays_them():
    u = gf.random_uniform((4, 5), seed=7)
    f = gf.function([], u)
    first, second = f(), f()
    assert not np.array_equal(first, second)
    g = gf.function([], gf.random_uniform((4, 5), seed=7))
    np.testing.assert_array_equal(g(), first)
    np.testing.assert_array_equal(g(), second)


def test_unseeded_draws_follow_set_random_seed():
    gf.set_random_seed(123)
    a = gf.function([], gf.random_normal((3,)))()
    gf.set_random_seed(123)
    b = gf.function([], gf.random_normal((3,)))()
    np.testing.assert_array_equal(a, b)


def test_array_path_matches_the_defined_stream(array_path):
    c = np.array(9, np.int64)
    u32 = kr.uniform(np, 5, c, (9,), "float32")
    words = kr.philox_words(np, 5, c, 9)
    np.testing.assert_array_equal(u32, (words >> 8).astype(np.float32) * np.float32(2.0 ** -24))
    u64 = kr.uniform(np, 5, c, (4,), "float64")
    w = kr.philox_words(np, 5, c, 8).reshape(4, 2).astype(np.float64)
    np.testing.assert_array_equal(u64, (np.floor(w[:, 0] / 32) * 2.0 ** 26 + np.floor(w[:, 1] / 64)) * 2.0 ** -53)


def test_random_op_types_errors_and_no_gradient():
    x = gf.placeholder((None, 3), "float64")
    assert gf.random_normal(x).dtype == "float64" and gf.random_normal(x).shape == (None, 3)
    assert gf.random_uniform((2, 3)).type == gf.TensorType("float32", (2, 3))
    with pytest.raises(gf.GraphError, match="low must be below high"):
        gf.random_uniform((2,), low=1.0, high=1.0)
    with pytest.raises(gf.GraphError, match="stddev must be >= 0"):
        gf.random_normal((2,), stddev=-1)
    with pytest.raises(gf.GraphError, match="tuple of ints"):
        gf.random_uniform((2, -1))
    with pytest.raises(gf.GraphError, match="random draws are floats"):
        gf.random_uniform((2,), dtype="int32")
    w = gf.variable(np.ones(3))
    loss = gf.sum(w * gf.random_normal((3,), dtype="float64"))
    (g,) = gf.grad(loss, [w])  # flows through w; nothing through the draw
    assert g.shape == (3,)
    assert rnd.RandomUniform(1).random and rnd.RandomUniform(1).views == ()


def test_random_ops_are_never_merged_or_folded():
    a, b = gf.random_uniform((3,), seed=1), gf.random_uniform((3,), seed=1)
    assert a is not b
    f = gf.function([], [a, b])
    assert [n.op.op_name() for n in f.program.schedule].count("random_uniform") == 2
