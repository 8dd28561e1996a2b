"""matmul (and ``@``), tensordot, dot and outer: static inference with unknown dims,
values against NumPy, float64 gradient checks, errors that name the op and the shapes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphflow as gf
from graphflow.testing import verify_grad


def concrete(shape, fill=3):
    return tuple(fill if d is None else d for d in shape)


def run(fn, *arrays, optimize="O2"):
    phs = [gf.placeholder(a.shape, a.dtype.name) for a in arrays]
    return gf.function(phs, fn(*phs), optimize=optimize)(*arrays)


# ---------------------------------------------------------------- matmul
MATMUL_SHAPES = [  # (x, y, result)
    ((2, 3), (3, 4), (2, 4)),
    ((None, 3), (3, 4), (None, 4)),
    ((2, None), (None, 4), (2, 4)),
    ((3,), (3, 4), (4,)),
    ((2, 3), (3,), (2,)),
    ((3,), (3,), ()),
    ((5, 2, 3), (3, 4), (5, 2, 4)),
    ((2, 3), (5, 3, 4), (5, 2, 4)),
    ((5, 1, 2, 3), (4, 3, 2), (5, 4, 2, 2)),
    ((None, 2, 3), (1, 3, 4), (None, 2, 4)),
    ((3,), (None, 3, 4), (None, 4)),
    ((None, 2, 3), (3,), (None, 2)),
]


@pytest.mark.parametrize("xs, ys, expected", MATMUL_SHAPES)
def test_matmul_inference_and_values(rng, xs, ys, expected):
    x, y = gf.placeholder(xs), gf.placeholder(ys)
    z = x @ y
    assert z.shape == expected and z.dtype == "float32"
    a = rng.standard_normal(concrete(xs)).astype(np.float32)
    b = rng.standard_normal(concrete(ys)).astype(np.float32)
    got = gf.function([x, y], z)(a, b)
    ref = a @ b
    assert got.shape == ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dx, dy", [("float32", "float64"), ("int32", "int64"), ("int32", "float32"),
                                    ("bool", "bool"), ("float16", "float16")])
def test_matmul_dtypes_follow_numpy(rng, dx, dy):
    a = (rng.standard_normal((3, 4)) * 3).astype(dx)
    b = (rng.standard_normal((4, 2)) * 3).astype(dy)
    ref = np.matmul(a, b)
    assert (gf.placeholder((3, 4), dx) @ gf.placeholder((4, 2), dy)).dtype == ref.dtype.name
    got = run(gf.matmul, a, b)
    assert got.dtype == ref.dtype
    np.testing.assert_allclose(got, ref, rtol=1e-2 if dx == "float16" else 1e-6)


def test_matmul_operator_spellings(rng):
    x = gf.placeholder((2, 3), "float64")
    w = rng.standard_normal((3, 4))
    v = rng.standard_normal((5, 2))
    a = rng.standard_normal((2, 3))
    f = gf.function([x], [x @ w, v @ x, gf.matmul(x, w)])
    got = f(a)
    np.testing.assert_allclose(got[0], a @ w)
    np.testing.assert_allclose(got[1], v @ a)
    np.testing.assert_allclose(got[2], a @ w)


@pytest.mark.parametrize("xs, ys, message", [
    ((2, 3), (4, 5), r"matmul: shapes \(2, 3\) and \(4, 5\) do not align: 3 .* != 4"),
    ((3,), (4,), r"matmul: shapes \(3,\) and \(4,\) do not align"),
    ((2, 2, 3), (3, 3, 4), r"matmul: batch axes \(2,\) and \(3,\) .* do not broadcast"),
    ((), (3,), r"matmul needs operands of rank >= 1, got shapes \(\) and \(3,\)"),
])
def test_matmul_errors_name_op_and_shapes(xs, ys, message):
    with pytest.raises(gf.GraphError, match=message) as err:
        gf.placeholder(xs) @ gf.placeholder(ys)
    assert "test_linalg.py" in str(err.value)  # the user's line


@pytest.mark.parametrize("xs, ys", [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)),
                                    ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 2)), ((2, 2, 3), (3,))])
def test_matmul_gradients(rng, xs, ys):
    verify_grad(gf.matmul, [rng.standard_normal(xs), rng.standard_normal(ys)])


def test_matmul_gradient_with_unknown_batch(rng):
    x = gf.placeholder((None, 2, 3), "float64")
    w = gf.placeholder((3, 4), "float64")
    gy = rng.standard_normal((5, 2, 4))
    gx, gw = gf.gradients([x @ w], [x, w], [gf.constant(gy)])
    assert gx.shape == (None, 2, 3) and gw.shape == (3, 4)
    a, b = rng.standard_normal((5, 2, 3)), rng.standard_normal((3, 4))
    got_x, got_w = gf.function([x, w], [gx, gw])(a, b)
    np.testing.assert_allclose(got_x, gy @ b.T)
    np.testing.assert_allclose(got_w, np.einsum("nij,nik->jk", a, gy))


def test_matmul_second_order(rng):
    verify_grad(lambda a, b: gf.grad(gf.sum(gf.tanh(a @ b)), a), [rng.standard_normal((2, 3)),
                                                                  rng.standard_normal((3, 2))])


def test_dense_layer_same_at_every_level(rng):
    x = gf.placeholder((None, 4))
    w = gf.variable(rng.standard_normal((4, 3)).astype(np.float32))
    b = gf.variable(rng.standard_normal(3).astype(np.float32))
    y = gf.relu(x @ w + b)
    g = gf.grad(gf.sum(y * y), w)
    a = rng.standard_normal((6, 4)).astype(np.float32)
    o0 = gf.function([x], [y, g], optimize="O0")(a)
    o2 = gf.function([x], [y, g], optimize="O2")(a)
    ref = np.maximum(a @ w.get_value() + b.get_value(), 0)
    np.testing.assert_allclose(o0[0], ref, rtol=1e-5, atol=1e-6)
    for p, q in zip(o0, o2):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- tensordot
TENSORDOT_CASES = [  # (x, y, axes)
    ((3, 4), (4, 5), 1),
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3), (4,), 0),
    ((2, 3, 4), (4, 2, 5), ([2, 0], [0, 1])),
    ((2, 3, 4), (3, 5), ([1], [0])),
    ((4, 3), (3, 4), ([0, 1], [1, 0])),
    ((2, 3), (3, 2), ([-1], [0])),
]


@pytest.mark.parametrize("xs, ys, axes", TENSORDOT_CASES)
def test_tensordot_values(rng, xs, ys, axes):
    a, b = rng.standard_normal(xs), rng.standard_normal(ys)
    ref = np.tensordot(a, b, axes)
    x, y = gf.placeholder(xs, "float64"), gf.placeholder(ys, "float64")
    z = gf.tensordot(x, y, axes)
    assert z.shape == ref.shape and z.dtype == "float64"
    np.testing.assert_allclose(gf.function([x, y], z)(a, b), ref)


@pytest.mark.parametrize("xs, ys, axes", TENSORDOT_CASES)
def test_tensordot_gradients(rng, xs, ys, axes):
    verify_grad(lambda x, y: gf.tensordot(x, y, axes), [rng.standard_normal(xs), rng.standard_normal(ys)])


def test_tensordot_unknown_dims(rng):
    x, y = gf.placeholder((None, 3, 4)), gf.placeholder((4, None, 2))
    z = gf.tensordot(x, y, ([2], [0]))
    assert z.shape == (None, 3, None, 2)
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(gf.function([x, y], z)(a, b), np.tensordot(a, b, ([2], [0])), rtol=1e-5)


@pytest.mark.parametrize("axes, message", [
    (([0], [0]), r"tensordot: axis 0 of x has length 2 but axis 0 of y has length 3 \(shapes \(2, 3\) and \(3, 4\)\)"),
    (3, r"tensordot: axes=3 needs 0 <= axes <= min of the ranks \(2, 2\)"),
    (([0, 1], [0]), "tensordot: 2 axes of x but 1 axes of y"),
    (([0, 0], [0, 1]), "tensordot: repeated axis"),
    (([2], [0]), "tensordot axis of x 2 is out of range"),
])
def test_tensordot_errors(axes, message):
    with pytest.raises(gf.GraphError, match=message):
        gf.tensordot(gf.placeholder((2, 3)), gf.placeholder((3, 4)), axes)


# ---------------------------------------------------------------- dot, outer
DOT_SHAPES = [((), (3,)), ((3,), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
              ((2, 3, 4), (4, 5)), ((2, 3, 4), (4,)), ((3, 4), (2, 4, 5)), ((2, 2, 3), (4, 3, 2))]


@pytest.mark.parametrize("xs, ys", DOT_SHAPES)
def test_dot_matches_numpy(rng, xs, ys):
    a, b = rng.standard_normal(xs), rng.standard_normal(ys)
    ref = np.dot(a, b)
    x, y = gf.placeholder(xs, "float64"), gf.placeholder(ys, "float64")
    z = gf.dot(x, y)
    assert z.shape == np.shape(ref)
    np.testing.assert_allclose(gf.function([x, y], z)(a, b), ref)


@pytest.mark.parametrize("xs, ys", [((3,), (3,)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((), (3,))])
def test_dot_gradients(rng, xs, ys):
    verify_grad(gf.dot, [rng.standard_normal(xs), rng.standard_normal(ys)])


def test_dot_error_names_the_shapes():
    with pytest.raises(gf.GraphError, match=r"matmul: shapes \(2, 3\) and \(2,\) do not align"):
        gf.dot(gf.placeholder((2, 3)), gf.placeholder((2,)))


@pytest.mark.parametrize("xs, ys", [((3,), (4,)), ((2, 2), (3,)), ((None,), (2,))])
def test_outer(rng, xs, ys):
    x, y = gf.placeholder(xs, "float64"), gf.placeholder(ys, "float64")
    z = gf.outer(x, y)
    n = 1 if None in xs else int(np.prod(xs))
    assert z.shape == ((None if None in xs else n), int(np.prod(ys)))
    a, b = rng.standard_normal(concrete(xs)), rng.standard_normal(ys)
    np.testing.assert_allclose(gf.function([x, y], z)(a, b), np.outer(a, b))
    if None not in xs:
        verify_grad(gf.outer, [a, b])


# ---------------------------------------------------------------- properties
@st.composite
def matmul_shapes(draw):
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    xb = [d if draw(st.booleans()) else 1 for d in batch][len(batch) - draw(st.integers(0, len(batch))):]
    yb = [d if draw(st.booleans()) else 1 for d in batch][len(batch) - draw(st.integers(0, len(batch))):]
    xs = tuple(xb) + (m, k) if draw(st.booleans()) else (k,)
    ys = tuple(yb) + (k, n) if draw(st.booleans()) else (k,)
    return xs, ys


@settings(max_examples=30, deadline=None)
@given(matmul_shapes(), st.integers(0, 2**32 - 1))
def test_matmul_broadcasting_property(shapes, seed):
    xs, ys = shapes
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(xs), rng.standard_normal(ys)
    ref = np.matmul(a, b)
    x, y = gf.placeholder(xs, "float64"), gf.placeholder(ys, "float64")
    z = x @ y
    assert z.shape == np.shape(ref)
    np.testing.assert_allclose(gf.function([x, y], z, optimize="O0")(a, b), ref)
