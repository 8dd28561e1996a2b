"""Reductions: sum mean max min prod var std argmax argmin over axis None/int/tuple with
keepdims — inference (incl. None dims), values and dtypes against NumPy, gradients."""
from __future__ import annotations

import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad

REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod,
              "var": np.var, "std": np.std}
AXES = [None, 0, 1, -1, (0, 2), (2, 0, 1), ()]


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("keepdims", [False, True])
def test_values_and_shapes_match_numpy(rng, name, keepdims):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    x = gf.placeholder((2, 3, 4))
    outs = [getattr(gf, name)(x, axis, keepdims=keepdims) for axis in AXES]
    got = gf.function([x], outs)(a)
    for axis, t, g in zip(AXES, outs, got):
        ref = REDUCTIONS[name](a, axis=axis, keepdims=keepdims)
        assert t.shape == ref.shape == g.shape, (axis, t.shape, ref.shape)
        assert t.dtype == g.dtype == ref.dtype
        np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["bool", "int8", "int32", "uint8", "float16", "float64"])
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_dtypes_match_numpy(rng, name, dtype):
    """bool/small ints sum in int64, mean of ints is float64, and so on, as NumPy."""
    a = (rng.integers(0, 3, (2, 3)) if dtype != "float16" else rng.standard_normal((2, 3))).astype(dtype)
    x = gf.placeholder((2, 3), dtype)
    y = getattr(gf, name)(x, axis=1)
    ref = REDUCTIONS[name](a, axis=1)
    got = gf.function([x], y)(a)
    assert y.dtype == got.dtype == ref.dtype
    tol = 2e-2 if dtype == "float16" else 1e-12  # float16 composites round differently
    np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(rng, name):
    a = rng.standard_normal((3, 5))
    x = gf.placeholder((None, 5), "float64")
    ys = [getattr(gf, name)(x), getattr(gf, name)(x, axis=0), getattr(gf, name)(x, 1, keepdims=True)]
    assert [y.shape for y in ys] == [(None,), (5,), (None, 1)] and all(y.dtype == "int64" for y in ys)
    got = gf.function([x], ys)(a)
    fn = getattr(np, name)
    for g, ref in zip(got, [fn(a, -1), fn(a, 0), fn(a, 1, keepdims=True)]):
        np.testing.assert_array_equal(g, ref)
        assert g.dtype == np.int64
    ties = np.array([[1.0, 3.0, 3.0, 0.0, 0.0]])
    assert gf.function([x], getattr(gf, name)(x))(ties)[0] == fn(ties[0])  # first one at ties


def test_unknown_dims_in_inference_and_at_run_time(rng):
    x = gf.placeholder((None, 3), "float64")
    assert x.sum(axis=0).shape == (3,) and x.sum(axis=1).shape == (None,)
    assert x.mean(axis=0, keepdims=True).shape == (1, 3) and x.max().shape == ()
    f = gf.function([x], [x.mean(axis=0), gf.var(x, 0), gf.std(x), gf.mean(x)])
    for n in (1, 4, 7):  # the batch size changes between calls; the means follow
        a = rng.standard_normal((n, 3))
        m, v, s, mm = f(a)
        np.testing.assert_allclose(m, a.mean(0))
        np.testing.assert_allclose(v, a.var(0), atol=1e-12)
        np.testing.assert_allclose(s, a.std(), atol=1e-12)
        np.testing.assert_allclose(mm, a.mean())


def test_count_is_static_when_known_and_dynamic_otherwise():
    x = gf.placeholder((None, 3, 4))
    assert isinstance(gf.count(x, (1, 2)), gf.Constant) and gf.count(x, (1, 2)).value == 12
    c = gf.count(x, (0, 2), dtype="int64")
    assert c.shape == () and c.dtype == "int64"
    assert gf.function([x], c)(np.zeros((5, 3, 4))) == 20


def test_tensor_methods():
    x = gf.placeholder((2, 3))
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    got = gf.function([x], [x.sum(), x.mean(axis=0), x.max(axis=1, keepdims=True), x.min(-1)])(a)
    for g, ref in zip(got, [a.sum(), a.mean(0), a.max(1, keepdims=True), a.min(-1)]):
        np.testing.assert_allclose(g, ref)


@pytest.mark.parametrize("axis, message", [
    (2, "axis 2 is out of range for a tensor of rank 2"),
    (-3, "out of range"),
    ((0, 0), "repeated axis"),
    ((0, -2), "repeated axis"),
    ("a", "must be an int"),
])
def test_bad_axes(axis, message):
    with pytest.raises(gf.GraphError, match=message):
        gf.sum(gf.placeholder((2, 3)), axis)


def test_max_of_an_empty_axis_is_refused():
    with pytest.raises(gf.GraphError, match="empty axis"):
        gf.max(gf.placeholder((0, 3)), axis=0)
    assert gf.sum(gf.placeholder((0, 3)), axis=0).shape == (3,)


# ---------------------------------------------------------------- gradients
GRADS = [
    ("sum", None, False), ("sum", 1, True), ("mean", (0, 2), False), ("mean", -1, True),
    ("max", 1, False), ("max", None, False), ("min", (1, 2), True), ("prod", 2, False),
    ("prod", None, False), ("var", 0, False), ("var", (1, 2), True), ("std", 1, False),
    ("std", None, False),
]


@pytest.mark.parametrize("name, axis, keepdims", GRADS)
def test_gradients_match_finite_differences(rng, name, axis, keepdims):
    a = rng.uniform(0.5, 1.5, (2, 3, 4)) * rng.choice([-1, 1], (2, 3, 4))
    assert verify_grad(lambda x: getattr(gf, name)(x, axis, keepdims=keepdims), [a])


def test_prod_gradient_is_exact_with_zeros():
    """One zero: the product of the others; two or more: zero (no 0/0 anywhere)."""
    a = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]])
    assert verify_grad(lambda x: gf.prod(x, 1), [a])
    x = gf.placeholder((3, 3), "float64")
    g = gf.function([x], gf.grad(gf.prod(x, 1).sum(), x))(a)
    np.testing.assert_array_equal(g, [[6, 0, 0], [0, 0, 0], [8, 4, 2]])


def test_max_gradient_is_shared_by_ties():
    x = gf.placeholder((2, 3), "float64")
    g = gf.function([x], gf.grad(gf.max(x, axis=1).sum() + gf.min(x), x))(
        np.array([[1.0, 3.0, 3.0], [0.0, 0.0, 2.0]]))
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [0.5, 0.5, 1.0]])


def test_gradients_with_unknown_batch(rng):
    x = gf.placeholder((None, 3), "float64")
    w = gf.placeholder((3,), "float64")
    cost = gf.mean(gf.max(x * w, axis=1)) + gf.var(x, axis=0).sum()
    f = gf.function([x, w], gf.grad(cost, [x, w]))
    for n in (2, 5):
        a, b = rng.standard_normal((n, 3)), rng.standard_normal(3)
        gx, gw = f(a, b)
        hit = (a * b == (a * b).max(1, keepdims=True))
        np.testing.assert_allclose(gw, (hit * a).sum(0) / n, atol=1e-12)
        np.testing.assert_allclose(gx, hit * b / n + 2 * (a - a.mean(0)) / n, atol=1e-12)
