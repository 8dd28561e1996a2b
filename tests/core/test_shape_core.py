"""The core shape ops: reshape, transpose, expand_dims, squeeze, broadcast_to and the
run-time-shape trio broadcast_like / sum_like / reshape_like."""
from __future__ import annotations

import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad


def run(inputs, outputs, *arrays):
    return gf.function(list(inputs), outputs)(*arrays)


@pytest.mark.parametrize("src, target, expected", [
    ((2, 3, 4), (6, 4), (6, 4)), ((2, 3, 4), (-1,), (24,)), ((2, 3, 4), (4, -1), (4, 6)),
    ((None, 3, 4), (-1, 12), (None, 12)), ((None, 3), (-1,), (None,)), ((2, 3), (3, 2), (3, 2)),
    ((None, 4), (2, 2, -1), (2, 2, None)), ((1,), (), ()),
])
def test_reshape_inference_and_values(rng, src, target, expected):
    x = gf.placeholder(src)
    y = gf.reshape(x, target)
    assert y.shape == expected
    concrete = tuple(3 if d is None else d for d in src)
    if src == (None, 4):
        concrete = (5, 4)  # 2 * 2 * 5 elements
    a = rng.standard_normal(concrete).astype(np.float32)
    np.testing.assert_array_equal(run([x], y, a), a.reshape(target))


@pytest.mark.parametrize("src, target, message", [
    ((2, 3), (4, 2), r"cannot reshape \(2, 3\) \(6 elements\)"),
    ((2, 3), (-1, -1), "at most one -1"),
    ((2, 3), (4, -1), "cannot reshape"),
    ((None, 3), (5, 7), "35 elements is not a multiple of 3"),
    ((2, 3), (-2, 3), "bad target shape"),
])
def test_reshape_errors(src, target, message):
    with pytest.raises(gf.GraphError, match=message):
        gf.reshape(gf.placeholder(src), target)


def test_reshape_spellings_and_identity():
    x = gf.placeholder((2, 3))
    assert x.reshape(3, 2) is x.reshape((3, 2)) is gf.reshape(x, [3, 2])
    assert x.reshape(2, 3) is x and gf.reshape(gf.placeholder((6,)), 6).shape == (6,)
    assert x.flatten().shape == (6,)


@pytest.mark.parametrize("shape, axes", [((2, 3), None), ((2, 3, 4), (1, 0, 2)),
                                         ((2, 3, 4), (-1, 0, 1)), ((None, 3, 1), (2, 0, 1))])
def test_transpose(rng, shape, axes):
    x = gf.placeholder(shape)
    y = gf.transpose(x, axes)
    ref_axes = tuple(reversed(range(len(shape)))) if axes is None else tuple(a % len(shape) for a in axes)
    assert y.shape == tuple(shape[a] for a in ref_axes)
    a = rng.standard_normal([d or 2 for d in shape]).astype(np.float32)
    np.testing.assert_array_equal(run([x], y, a), np.transpose(a, ref_axes))


def test_transpose_spellings_and_errors():
    x = gf.placeholder((2, 3, 4))
    assert x.T.shape == (4, 3, 2) and x.transpose(1, 0, 2).shape == (3, 2, 4)
    assert gf.transpose(x, (0, 1, 2)) is x
    with pytest.raises(gf.GraphError, match="not a permutation"):
        gf.transpose(x, (0, 0, 1))
    with pytest.raises(gf.GraphError, match="out of range"):
        gf.transpose(x, (0, 1, 3))


def test_expand_dims_and_squeeze(rng):
    x = gf.placeholder((None, 3))
    assert [gf.expand_dims(x, a).shape for a in (0, 1, 2, -1)] == [
        (1, None, 3), (None, 1, 3), (None, 3, 1), (None, 3, 1)]
    y = gf.placeholder((1, 3, 1, None))
    assert gf.squeeze(y).shape == (3, None) and gf.squeeze(y, 2).shape == (1, 3, None)
    assert gf.squeeze(y, (0, -2)).shape == (3, None) and gf.squeeze(x) is x
    a = rng.standard_normal((1, 3, 1, 2)).astype(np.float32)
    got = run([y], [gf.squeeze(y), gf.expand_dims(gf.squeeze(y, 0), 1)], a)
    np.testing.assert_array_equal(got[0], np.squeeze(a, (0, 2)))
    np.testing.assert_array_equal(got[1], np.expand_dims(a[0], 1))
    with pytest.raises(gf.GraphError, match="axis 1 has length 3, not 1"):
        gf.squeeze(y, 1)
    with pytest.raises(gf.GraphError, match="out of range"):
        gf.expand_dims(x, 3)


def test_broadcast_to(rng):
    x = gf.placeholder((3, 1))
    y = gf.broadcast_to(x, (2, 3, 4))
    assert y.shape == (2, 3, 4) and gf.broadcast_to(x, (3, 1)) is x
    a = rng.standard_normal((3, 1)).astype(np.float32)
    np.testing.assert_array_equal(run([x], y, a), np.broadcast_to(a, (2, 3, 4)))
    for bad in [(3, 2, 2), (3,)]:
        with pytest.raises(gf.GraphError, match=r"broadcast_to.*\(3, 1\)"):
            gf.broadcast_to(x, bad)


def test_run_time_shape_ops(rng):
    """broadcast_like / sum_like / reshape_like follow the *run-time* shape of ``like``."""
    g = gf.placeholder((None, 3))
    like = gf.placeholder((None, 1, None))
    assert gf.broadcast_like(gf.placeholder((3,)), g).shape == (None, 3)
    s = gf.sum_like(g, gf.placeholder((1, None)))
    assert s.shape == (1, None)
    r = gf.reshape_like(g, like)
    assert r.shape == (None, 1, None)
    v = gf.placeholder((3,))
    f = gf.function([g, like, v], [gf.broadcast_like(v, g), gf.sum_like(g, v), r])
    a, b, c = rng.standard_normal((4, 3)), np.zeros((2, 1, 6)), rng.standard_normal(3)
    bl, sl, rl = f(a, b, c)
    np.testing.assert_allclose(bl, np.broadcast_to(c.astype(np.float32), (4, 3)))
    np.testing.assert_allclose(sl, a.astype(np.float32).sum(0), rtol=1e-6)
    np.testing.assert_array_equal(rl, a.astype(np.float32).reshape(2, 1, 6))
    x1 = gf.placeholder((None, None))
    ones = gf.function([g, x1], gf.sum_like(g, x1))(a, np.zeros((4, 1)))  # a dim of 1 at run time
    np.testing.assert_allclose(ones, a.astype(np.float32).sum(1, keepdims=True), rtol=1e-6)


@pytest.mark.parametrize("fn, shape", [
    (lambda x: gf.reshape(x, (3, 4)) * np.arange(4.0), (2, 6)),
    (lambda x: gf.transpose(x, (2, 0, 1)) * np.arange(3.0), (2, 3, 4)),
    (lambda x: gf.expand_dims(x, 1) * np.arange(3.0).reshape(1, 3, 1), (2, 4)),
    (lambda x: gf.squeeze(x) * np.arange(3.0), (1, 3, 1)),
    (lambda x: gf.broadcast_to(x, (2, 3, 4)) * np.arange(4.0), (3, 1)),
    (lambda x: x.T.reshape(-1), (2, 3)),
])
def test_gradients_match_finite_differences(rng, fn, shape):
    assert verify_grad(fn, [rng.standard_normal(shape)])


def test_gradients_through_run_time_shape_ops(rng):
    """With a None dim, gradients of reshape/squeeze/broadcast use the run-time shape."""
    x = gf.placeholder((None, 3), "float64")
    w = gf.placeholder((1, 3), "float64")
    cost = (gf.reshape(x * w, (-1,)) ** 2).sum() + gf.squeeze(gf.expand_dims(x, 0), 0).sum()
    f = gf.function([x, w], gf.grad(cost, [x, w]))
    for n in (1, 3):
        a, b = rng.standard_normal((n, 3)), rng.standard_normal((1, 3))
        gx, gw = f(a, b)
        np.testing.assert_allclose(gx, 2 * a * b * b + 1)
        np.testing.assert_allclose(gw, (2 * a * a * b).sum(0, keepdims=True))


def test_ones_like_and_zeros_like_ignore_the_values():
    x = gf.placeholder((None, 3))
    f = gf.function([x], [gf.ones_like(x), gf.zeros_like(x, "int32"), gf.full_like(x, 2.5)])
    ones, zeros, full = f(np.array([[np.nan, np.inf, -1.0]] * 2, "float32"))
    np.testing.assert_array_equal(ones, np.ones((2, 3), "float32"))
    assert zeros.dtype == np.int32 and not zeros.any() and zeros.shape == (2, 3)
    np.testing.assert_array_equal(full, np.full((2, 3), 2.5, "float32"))
    assert gf.ones_like(x).shape == (None, 3) and gf.ones_like(x).dtype == "float32"
    g = gf.function([x], gf.grad(gf.sum(gf.ones_like(x) * x), [x]))(np.array([[np.nan, 1, 2]], "float32"))
    np.testing.assert_array_equal(g[0], np.ones((1, 3), "float32"))
