"""Indexing: ``x[key]`` (ints, slices with any step, None, ...), ``gf.take`` / ``x[idx]``
and their gradients (scatter into zeros, scatter-add); ``gf.one_hot``."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphflow as gf
from graphflow.testing import verify_grad

KEYS = [  # (shape, key)
    ((4, 5), 1),
    ((4, 5), -1),
    ((4, 5), (slice(1, 3), 2)),
    ((4, 5), (slice(None, None, -1), slice(None, None, 2))),
    ((4, 5), (slice(3, 0, -2), slice(-2, None))),
    ((4, 5), (None, 1, None)),
    ((2, 3, 4), (Ellipsis, 1)),
    ((2, 3, 4), (1, Ellipsis, None, slice(None, 2))),
    ((2, 3, 4), (0, 1, 2)),
    ((2, 3, 4), (slice(5, 9),)),
    ((6,), slice(-100, 100, 3)),
    ((2, 3), ()),
]


@pytest.mark.parametrize("shape, key", KEYS)
def test_getitem_values_and_shape(rng, shape, key):
    a = rng.standard_normal(shape).astype(np.float32)
    x = gf.placeholder(shape)
    y = x[key]
    ref = a[key]
    assert y.shape == ref.shape and y.dtype == "float32"
    got = gf.function([x], y)(a)
    assert isinstance(got, np.ndarray) and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("shape, key", [k for k in KEYS if k[1] != ()])
def test_getitem_gradients(rng, shape, key):
    verify_grad(lambda x: x[key], [rng.standard_normal(shape)])


@pytest.mark.parametrize("key, expected", [
    ((slice(None), 1), (None,)),
    ((0, slice(1, 3)), (2,)),
    ((slice(1, None), None), (None, 1, 4)),
    ((Ellipsis, slice(None, None, -1)), (None, 4)),
    ((-1,), (4,)),
])
def test_getitem_unknown_dims(rng, key, expected):
    x = gf.placeholder((None, 4), "float64")
    y = x[key]
    assert y.shape == expected
    a = rng.standard_normal((5, 4))
    np.testing.assert_array_equal(gf.function([x], y)(a), a[key])
    g = rng.standard_normal(a[key].shape)
    (gx,) = gf.gradients([y], [x], [gf.constant(g)])
    ref = np.zeros_like(a)
    ref[key] = g
    np.testing.assert_array_equal(gf.function([x], gx)(a), ref)


def test_getitem_full_key_is_identity_and_merges():
    x = gf.placeholder((3, 4))
    assert x[:] is x and x[...] is x and x[:, :] is x
    assert x[-1].node is x[2].node  # negative ints are normalised where the length is known


def test_getitem_second_order(rng):
    verify_grad(lambda x: gf.grad(gf.sum(gf.square(x[1:, ::-1]) * x[:-1, :]), x), [rng.standard_normal((3, 3))])


@pytest.mark.parametrize("key, message", [
    ((0, 0, 0), "too many indices: 3 for a tensor of rank 2"),
    ((5,), "index 5 is out of bounds for axis 0 with size 3"),
    ((slice(None), -5), "index -5 is out of bounds for axis 1 with size 4"),
    ((Ellipsis, Ellipsis), "single ellipsis"),
    ((slice(None, None, 0),), "slice step cannot be zero"),
    ((1.5,), "unsupported index 1.5"),
    ((slice(0.5, 2),), "slice bounds must be ints"),
    ((np.array([True, False, True]),), "boolean masks"),
    (([0, 1], [1, 2]), "one integer array/tensor index"),
    (([0, 1], 1), "one integer array/tensor index"),
])
def test_getitem_errors_name_the_op(key, message):
    with pytest.raises(gf.GraphError, match=message) as err:
        gf.placeholder((3, 4))[key]
    assert str(err.value).startswith("getitem") and "float32(3, 4)" in str(err.value)


# ---------------------------------------------------------------- take / gather
@pytest.mark.parametrize("shape, idx_shape, axis", [((5,), (3,), 0), ((5, 3), (2, 2), 0), ((4, 5), (3,), 1),
                                                    ((2, 5, 3), (), 1), ((2, 3, 5), (4, 1), -1)])
def test_take_values_and_gradients(rng, shape, idx_shape, axis):
    n = shape[axis]
    idx = rng.integers(-n, n, size=idx_shape)
    a = rng.standard_normal(shape)
    x, i = gf.placeholder(shape, "float64"), gf.placeholder(idx_shape, "int64")
    y = gf.take(x, i, axis)
    ref = np.take(a, idx, axis)
    assert y.shape == ref.shape
    np.testing.assert_array_equal(gf.function([x, i], y)(a, idx), ref)
    verify_grad(lambda t: gf.take(t, idx, axis), [a])  # repeated indices add up


def test_embedding_lookup_with_unknown_batch(rng):
    table = rng.standard_normal((6, 3))
    w = gf.variable(table)
    ids = gf.placeholder((None, 4), "int32")
    y = gf.gather(w, ids)
    assert y.shape == (None, 4, 3)
    idx = rng.integers(0, 6, size=(2, 4)).astype(np.int32)
    idx[0, :2] = 5  # a repeated row
    gw = gf.grad(gf.sum(y * 2.0), w)
    got_y, got_g = gf.function([ids], [y, gw])(idx)
    np.testing.assert_array_equal(got_y, table[idx])
    np.testing.assert_array_equal(got_g, 2.0 * np.bincount(idx.ravel(), minlength=6)[:, None] * np.ones(3))


def test_array_index_is_a_gather(rng):
    a = rng.standard_normal((3, 4, 5))
    x = gf.placeholder(a.shape, "float64")
    t = gf.placeholder((2,), "int64")
    idx = np.array([3, 0])
    outs = [x[[2, 0, 2]], x[:, idx], x[..., t], x[:, ..., t], x[t, ...]]
    assert [o.shape for o in outs] == [(3, 4, 5), (3, 2, 5), (3, 4, 2), (3, 4, 2), (2, 4, 5)]
    got = gf.function([x, t], outs)(a, np.array([1, -1]))
    for g, r in zip(got, [a[[2, 0, 2]], a[:, idx], a[..., [1, -1]], a[:, ..., [1, -1]], a[[1, -1], ...]]):
        np.testing.assert_array_equal(g, r)


def test_take_indices_get_no_gradient_and_ints_only():
    x = gf.placeholder((4, 3), "float64")
    i = gf.placeholder((2,), "int32")
    gx, gi = gf.gradients([gf.sum(gf.take(x, i))], [x, i])
    assert gi is None and gx.shape == (4, 3)
    with pytest.raises(gf.GraphError, match="take: indices must be integers, got float32"):
        gf.take(x, gf.placeholder((2,)))
    with pytest.raises(gf.GraphError, match="take: index 7 is out of bounds for axis 1 with size 3"):
        gf.take(x, [0, 7], axis=1)
    with pytest.raises(gf.GraphError, match="axis 2 is out of range for a tensor of rank 2"):
        gf.take(x, [0], axis=2)


def test_take_out_of_range_at_run_time_names_the_node(rng):
    x, i = gf.placeholder((4, 3)), gf.placeholder((2,), "int64")
    f = gf.function([x, i], gf.take(x, i))
    with pytest.raises(IndexError) as err:
        f(np.zeros((4, 3), np.float32), np.array([0, 9]))
    assert any("gather" in n for n in getattr(err.value, "__notes__", []))


# ---------------------------------------------------------------- one_hot
def test_one_hot_values_and_no_gradient(rng):
    assert gf.one_hot is gf.nn.one_hot
    labels = rng.integers(0, 4, size=(2, 3))
    i = gf.placeholder((None, 3), "int64")
    y = gf.one_hot(i, 4)
    assert y.shape == (None, 3, 4) and y.dtype == "float32"
    np.testing.assert_array_equal(gf.function([i], y)(labels), np.eye(4, dtype=np.float32)[labels])
    x = gf.placeholder((2, 3))
    with pytest.raises(gf.NonDifferentiableError, match="one_hot"):
        gf.grad(gf.sum(gf.one_hot(gf.argmax(x, 1), 3)), x)


# ---------------------------------------------------------------- properties
@st.composite
def slicing_cases(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=3)))
    entries = []
    for d in shape:
        kind = draw(st.sampled_from(["int", "slice", "slice", "full"]))
        if kind == "int" and d > 0:
            entries.append(draw(st.integers(-d, d - 1)))
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-6, 6))
            entries.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, -1, -3]))))
        else:
            entries.append(slice(None))
    n_new = draw(st.integers(0, 2))
    for _ in range(n_new):
        entries.insert(draw(st.integers(0, len(entries))), None)
    if draw(st.booleans()) and entries:
        at = draw(st.integers(0, len(entries) - 1))
        if all(e is None or e == slice(None) for e in entries[at:]):
            entries = entries[:at] + [Ellipsis]
    return shape, tuple(entries)


@settings(max_examples=60, deadline=None)
@given(slicing_cases(), st.booleans())
def test_random_slicing_matches_numpy(case, unknown_first):
    shape, key = case
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = gf.placeholder(((None,) + shape[1:]) if unknown_first else shape, "float64")
    y = x[key]
    ref = a[key]
    assert y.ndim == ref.ndim
    assert all(s is None or s == r for s, r in zip(y.shape, ref.shape))
    (gx,) = gf.gradients([y], [x], [gf.constant(np.ones(ref.shape))])
    got, got_g = gf.function([x], [y, gx], optimize="O0")(a)
    np.testing.assert_array_equal(got, ref)
    count = np.zeros(shape)
    count[key] += 1
    np.testing.assert_array_equal(got_g, count)


def test_take_second_order(rng):
    idx = np.array([2, 0, 2])
    verify_grad(lambda x: gf.grad(gf.sum(gf.take(x, idx, 1) ** 3), x), [rng.standard_normal((2, 3))])
