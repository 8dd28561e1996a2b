"""Joining and reshaping: concatenate, stack, split, tile, pad, flatten — inference with
unknown dims, values against NumPy, float64 gradient checks, errors naming op and shapes,
and round-trip properties (split∘concatenate, transpose∘transpose, reshape∘reshape)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphflow as gf
from graphflow.testing import verify_grad


def fill(shape, value=3):
    return tuple(value if d is None else d for d in shape)


# ---------------------------------------------------------------- concatenate / stack
@pytest.mark.parametrize("shapes, axis, expected", [
    ([(2, 3), (4, 3)], 0, (6, 3)),
    ([(2, 3), (2, 1), (2, 2)], -1, (2, 6)),
    ([(None, 3), (2, 3)], 0, (None, 3)),
    ([(None, 3), (None, 2)], 1, (None, 5)),
    ([(2, None, 4), (2, 5, 4)], 2, (2, 5, 8)),
    ([(3,), (0,)], 0, (3,)),
])
def test_concatenate(rng, shapes, axis, expected):
    xs = [gf.placeholder(s, "float64") for s in shapes]
    y = gf.concatenate(xs, axis)
    assert y.shape == expected
    other = [next((s[ax] for s in shapes if s[ax] is not None), 3) for ax in range(len(expected))]
    arrays = [rng.standard_normal(tuple((i + 2 if ax == axis % len(s) else other[ax]) if d is None else d
                                        for ax, d in enumerate(s))) for i, s in enumerate(shapes)]
    np.testing.assert_array_equal(gf.function(xs, y)(*arrays), np.concatenate(arrays, axis))
    gy = rng.standard_normal(np.concatenate(arrays, axis).shape)
    grads = gf.function(xs, gf.gradients([y], xs, [gf.constant(gy)]))(*arrays)
    for g, piece in zip(grads, np.split(gy, np.cumsum([a.shape[axis] for a in arrays])[:-1], axis)):
        np.testing.assert_array_equal(g, piece)  # unknown lengths go through split_like


def test_concatenate_dtypes_and_gradients(rng):
    i, f = gf.placeholder((2,), "int32"), gf.placeholder((3,), "float32")
    assert gf.concatenate([i, f]).dtype == np.concatenate([np.zeros(2, "int32"), np.zeros(3, "float32")]).dtype.name
    got = gf.function([i, f], gf.concatenate([i, f, [7.5]]))(np.array([1, 2], "int32"), np.ones(3, "float32"))
    np.testing.assert_array_equal(got, [1, 2, 1, 1, 1, 7.5])
    verify_grad(lambda a, b: gf.concatenate([a, b, a], 1), [rng.standard_normal((2, 3)), rng.standard_normal((2, 1))])


@pytest.mark.parametrize("build, message", [
    (lambda: gf.concatenate([gf.placeholder((2, 3)), gf.placeholder((2, 4))], 0),
     r"concatenate along axis 0: shapes \(2, 3\), \(2, 4\) differ in axis 1"),
    (lambda: gf.concatenate([gf.placeholder((2, 3)), gf.placeholder((3,))]),
     r"concatenate needs tensors of one rank >= 1, got shapes \(2, 3\), \(3,\)"),
    (lambda: gf.concatenate([gf.placeholder((2,))], 1), "axis 1 is out of range"),
    (lambda: gf.concatenate([]), "concatenate needs at least one tensor"),
    (lambda: gf.concatenate(gf.placeholder((2,))), "concatenate takes a list of tensors"),
    (lambda: gf.stack([gf.placeholder((2, 3)), gf.placeholder((3, 2))]),
     r"stack needs tensors of one shape, got \(2, 3\), \(3, 2\)"),
])
def test_join_errors(build, message):
    with pytest.raises(gf.GraphError, match=message):
        build()


@pytest.mark.parametrize("shape, axis", [((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1), ((None, 3), 1)])
def test_stack(rng, shape, axis):
    xs = [gf.placeholder(shape, "float64") for _ in range(3)]
    y = gf.stack(xs, axis)
    arrays = [rng.standard_normal(fill(shape)) for _ in xs]
    ref = np.stack(arrays, axis)
    assert y.ndim == ref.ndim and all(d is None or d == r for d, r in zip(y.shape, ref.shape))
    np.testing.assert_array_equal(gf.function(xs, y)(*arrays), ref)
    if None not in shape:
        verify_grad(lambda a, b: gf.stack([a, b, a], axis), arrays[:2])


# ---------------------------------------------------------------- split
@pytest.mark.parametrize("shape, points, axis, sizes", [
    ((6, 2), 3, 0, [2, 2, 2]),
    ((2, 7), [2, 5], 1, [2, 3, 2]),
    ((2, 7), [2, 9], 1, [2, 5, 0]),
    ((2, 7), [-3], 1, [4, 3]),
    ((None, 4), 2, 1, [2, 2]),
    ((None, 4), [1], 0, [None, None]),
    ((6,), 1, 0, [6]),
])
def test_split(rng, shape, points, axis, sizes):
    x = gf.placeholder(shape, "float64")
    ys = gf.split(x, points, axis)
    assert isinstance(ys, list) and [y.shape[axis] for y in ys] == sizes
    a = rng.standard_normal(fill(shape))
    for got, ref in zip(gf.function([x], ys)(a), np.split(a, points, axis)):
        np.testing.assert_array_equal(got, ref)
    if None not in shape:
        verify_grad(lambda t: gf.split(t, points, axis), [a])
        verify_grad(lambda t: gf.split(t, points, axis)[-1], [a])  # unused pieces get zeros


@pytest.mark.parametrize("shape, points, message", [
    ((5,), 2, "split: axis 0 of length 5 does not divide into 2 equal sections"),
    ((5,), [3, 1], "split: indices must be sorted and >= 0"),
    ((None,), [-1], "split: indices must be sorted and >= 0"),
    ((5,), 0, "the number of sections must be >= 1"),
])
def test_split_errors(shape, points, message):
    with pytest.raises(gf.GraphError, match=message) as err:
        gf.split(gf.placeholder(shape), points)
    assert f"float32({'?' if shape[0] is None else shape[0]},)" in str(err.value)


# ---------------------------------------------------------------- tile
@pytest.mark.parametrize("shape, reps", [((2, 3), (2, 1)), ((2, 3), 3), ((3,), (2, 2)), ((2, 1, 2), (1, 3)),
                                         ((2, 3), (2, 0)), ((2,), (1,))])
def test_tile(rng, shape, reps):
    a = rng.standard_normal(shape)
    x = gf.placeholder(shape, "float64")
    y = gf.tile(x, reps)
    ref = np.tile(a, reps)
    assert y.shape == ref.shape
    np.testing.assert_array_equal(gf.function([x], y)(a), ref)
    verify_grad(lambda t: gf.tile(t, reps), [a])


def test_tile_unknown_dims_and_second_order(rng):
    x = gf.placeholder((None, 2), "float64")
    y = gf.tile(x, (2, 3))
    assert y.shape == (None, 6)
    a = rng.standard_normal((3, 2))
    gx = gf.grad(gf.sum(y * y), x)  # each entry appears 6 times: d/dx = 12 x
    np.testing.assert_allclose(gf.function([x], gx)(a), 12 * a)
    verify_grad(lambda t: gf.grad(gf.sum(gf.tile(t, (2, 2)) ** 3), t), [rng.standard_normal((2, 2))])
    with pytest.raises(gf.GraphError, match=r"tile: reps must be >= 0, got \(-1,\)"):
        gf.tile(x, -1)


# ---------------------------------------------------------------- pad
@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric", "edge"])
@pytest.mark.parametrize("shape, paddings", [((3, 4), ((1, 2), (0, 3))), ((4,), 2), ((2, 3), (1, 0)),
                                             ((2, 3, 4), ((0, 0), (2, 2), (1, 1))), ((3, 2), ((5, 4), (3, 0)))])
def test_pad(rng, mode, shape, paddings):
    a = rng.standard_normal(shape)
    x = gf.placeholder(shape, "float64")
    y = gf.pad(x, paddings, mode)
    ref = np.pad(a, paddings, mode)
    assert y.shape == ref.shape
    np.testing.assert_array_equal(gf.function([x], y)(a), ref)
    verify_grad(lambda t: gf.pad(t, paddings, mode), [a])


def test_pad_constant_value_unknown_dims_and_second_order(rng):
    x = gf.placeholder((None, 2), "float32")
    y = gf.pad(x, ((1, 0), (2, 1)), constant_values=-1.5)
    assert y.shape == (None, 5) and y.dtype == "float32"
    a = rng.standard_normal((3, 2)).astype(np.float32)
    np.testing.assert_array_equal(gf.function([x], y)(a), np.pad(a, ((1, 0), (2, 1)), constant_values=-1.5))
    xr = gf.placeholder((None, 3), "float64")
    gx = gf.grad(gf.sum(gf.pad(xr, 2, "reflect") * 1.0), xr)  # counts of copies of each entry
    np.testing.assert_array_equal(gf.function([xr], gx)(np.zeros((4, 3))), _copy_counts((4, 3), 2, "reflect"))
    verify_grad(lambda t: gf.grad(gf.sum(gf.pad(t, 1, "symmetric") ** 3), t), [rng.standard_normal((2, 3))])


def _copy_counts(shape, paddings, mode):
    """How many times each entry appears in np.pad(., paddings, mode)."""
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    return np.bincount(np.pad(idx, paddings, mode).ravel(), minlength=idx.size).reshape(shape)


@pytest.mark.parametrize("shape, kwargs, message", [
    ((2, 3), dict(paddings=((1, 1),) * 3), r"pad: 3 \(before, after\) pairs for a tensor of rank 2"),
    ((2, 3), dict(paddings=-1), r"pad: paddings must be >= 0, got \(\(-1, -1\), \(-1, -1\)\)"),
    ((2, 3), dict(paddings=1, mode="wrap"), "pad: mode must be one of"),
    ((0, 3), dict(paddings=1, mode="reflect"), "cannot extend the empty axis 0 in mode 'reflect'"),
    ((2, 3), dict(paddings=1, constant_values="a"), "constant_values must be a number"),
])
def test_pad_errors(shape, kwargs, message):
    with pytest.raises(gf.GraphError, match=message) as err:
        gf.pad(gf.placeholder(shape), **kwargs)
    assert str(err.value).startswith("pad")


# ---------------------------------------------------------------- flatten
@pytest.mark.parametrize("shape, expected", [((2, 3, 4), (2, 12)), ((None, 7, 7, 2), (None, 98)), ((5,), (5, 1)),
                                             ((2, None, 3), (2, None)), ((None, None, 3), (None, None)),
                                             ((None, 0), (None, 0))])
def test_flatten(rng, shape, expected):
    x = gf.placeholder(shape, "float64")
    y = gf.flatten(x)
    assert y.shape == expected
    a = rng.standard_normal(fill(shape, 2))
    np.testing.assert_array_equal(gf.function([x], y)(a), a.reshape(a.shape[0], -1))
    gy = rng.standard_normal(a.reshape(a.shape[0], -1).shape)
    (gx,) = gf.gradients([y], [x], [gf.constant(gy)])
    np.testing.assert_array_equal(gf.function([x], gx)(a), gy.reshape(a.shape))


def test_flatten_rejects_scalars():
    with pytest.raises(gf.GraphError, match=r"flatten needs a tensor of rank >= 1"):
        gf.flatten(gf.placeholder(()))


# ---------------------------------------------------------------- properties
@st.composite
def pieces(draw):
    rank = draw(st.integers(1, 3))
    axis = draw(st.integers(0, rank - 1))
    base = [draw(st.integers(1, 3)) for _ in range(rank)]
    lens = draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
    return [tuple(n if i == axis else d for i, d in enumerate(base)) for n in lens], axis


@settings(max_examples=30, deadline=None)
@given(pieces(), st.booleans())
def test_split_undoes_concatenate(case, unknown):
    shapes, axis = case
    arrays = [np.random.default_rng(k).standard_normal(s) for k, s in enumerate(shapes)]
    xs = [gf.placeholder(tuple(None if unknown and i == axis else d for i, d in enumerate(s)), "float64")
          for s in shapes]
    joined = gf.concatenate(xs, axis)
    cuts = list(np.cumsum([s[axis] for s in shapes])[:-1])
    back = gf.split(joined, cuts, axis)
    for got, ref in zip(gf.function(xs, back, optimize="O0")(*arrays), arrays):
        np.testing.assert_array_equal(got, ref)


@st.composite
def permuted_shapes(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return shape, perm


@settings(max_examples=30, deadline=None)
@given(permuted_shapes())
def test_transpose_and_reshape_round_trips(case):
    shape, perm = case
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = gf.placeholder(shape, "float64")
    t = gf.transpose(x, perm)
    back = gf.transpose(t, tuple(int(i) for i in np.argsort(perm)))
    flat = gf.reshape(gf.flatten(gf.reshape(t, (1, -1))), t.shape)
    got_t, got_back, got_flat = gf.function([x], [t, back, flat], optimize="O0")(a)
    np.testing.assert_array_equal(got_t, np.transpose(a, perm))
    np.testing.assert_array_equal(got_back, a)
    np.testing.assert_array_equal(got_flat, np.transpose(a, perm))
