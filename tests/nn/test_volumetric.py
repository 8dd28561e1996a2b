"""conv3d, conv3d_transpose, max_pool3d, avg_pool3d: values against direct loops (the
transpose: as conv3d's adjoint) in float64 on fresh random data, shapes, both data
formats, errors, float64 finite-difference gradients."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphflow as gf
from graphflow.testing import verify_grad


def _windows(n, k, s, padding, d=1):
    """(first input index, output length, pad before) along one axis, TF geometry."""
    eff = (k - 1) * d + 1
    if padding == "same":
        out = -(-n // s)
        return out, max((out - 1) * s + eff - n, 0) // 2
    return (n - eff) // s + 1, 0


def ref_conv3d(x, k, strides, padding, dilation):
    """Direct loops over output cells and kernel taps (channels_last)."""
    geo = [_windows(n, kk, s, padding, d) for n, kk, s, d in zip(x.shape[1:4], k.shape[:3], strides, dilation)]
    y = np.zeros((x.shape[0], *[g[0] for g in geo], k.shape[4]))
    for out in itertools.product(*[range(g[0]) for g in geo]):
        for tap in itertools.product(*[range(kk) for kk in k.shape[:3]]):
            at = [o * s + t * d - g[1] for o, s, t, d, g in zip(out, strides, tap, dilation, geo)]
            if all(0 <= a < n for a, n in zip(at, x.shape[1:4])):
                y[(slice(None), *out)] += x[(slice(None), *at)] @ k[tap]
    return y


def ref_pool3d(x, pool, strides, padding, reduce):
    """Each window over its real cells only (channels_last)."""
    geo = [_windows(n, p, s, padding) for n, p, s in zip(x.shape[1:4], pool, strides)]
    y = np.zeros((x.shape[0], *[g[0] for g in geo], x.shape[4]))
    for out in itertools.product(*[range(g[0]) for g in geo]):
        box = tuple(slice(max(o * s - g[1], 0), min(o * s - g[1] + p, n))
                    for o, s, g, p, n in zip(out, strides, geo, pool, x.shape[1:4]))
        cells = x[(slice(None), *box)].reshape(x.shape[0], -1, x.shape[4])
        y[(slice(None), *out)] = reduce(cells, axis=1)
    return y


def _cf(a):
    return a.transpose(0, 4, 1, 2, 3)


def _run(fn, x, *rest, data_format="channels_last", dtype="float64"):
    feed = _cf(x) if data_format == "channels_first" else x
    xs = [gf.placeholder((None, *feed.shape[1:]), dtype)] + [gf.placeholder(r.shape, dtype) for r in rest]
    y = fn(*xs)
    out = gf.function(xs, y)(feed.astype(dtype), *[r.astype(dtype) for r in rest])
    assert y.shape[0] is None and y.shape[1:] == out.shape[1:]  # static shape inference
    return out if data_format == "channels_last" else out.transpose(0, 2, 3, 4, 1)


@settings(max_examples=6, deadline=None)
@given(dims=st.tuples(*[st.integers(3, 6)] * 3), taps=st.tuples(*[st.integers(1, 3)] * 3),
       strides=st.tuples(*[st.integers(1, 2)] * 3), dil=st.sampled_from([(1, 1, 1), (2, 1, 2)]),
       padding=st.sampled_from(["valid", "same"]), data_format=st.sampled_from(["channels_last", "channels_first"]),
       seed=st.integers(0, 2**16))
def test_conv3d_matches_direct_loops(dims, taps, strides, dil, padding, data_format, seed):
    if padding == "valid" and any((t - 1) * d + 1 > n for t, d, n in zip(taps, dil, dims)):
        return
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((2, *dims, 3)), rng.standard_normal((*taps, 3, 2))
    got = _run(lambda a, b: gf.nn.conv3d(a, b, strides, padding, data_format, dil), x, k, data_format=data_format)
    np.testing.assert_allclose(got, ref_conv3d(x, k, strides, padding, dil), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("pool, strides, padding", [
    ((2, 2, 2), None, "valid"), ((2, 3, 2), (1, 2, 2), "same"), ((3, 2, 2), (2, 1, 2), "valid"),
    ((3, 3, 3), (2, 2, 2), "same")])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_pool3d_matches_direct_loops(pool, strides, padding, data_format):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 5, 6, 7, 3))
    s = pool if strides is None else strides
    for fn, reduce in ((gf.nn.max_pool3d, np.max), (gf.nn.avg_pool3d, np.mean)):
        got = _run(lambda a: fn(a, pool, strides, padding, data_format), x, data_format=data_format)
        np.testing.assert_allclose(got, ref_pool3d(x, pool, s, padding, reduce), rtol=1e-12, atol=1e-12)


def test_float32_max_pool3d_picks_exactly_the_float64_winners():
    x = np.random.default_rng(1).standard_normal((1, 4, 4, 4, 2)).astype("float32")
    got = _run(lambda a: gf.nn.max_pool3d(a, 2, 1, "same"), x, dtype="float32")
    np.testing.assert_array_equal(got, ref_pool3d(x.astype("float64"), (2,) * 3, (1,) * 3, "same", np.max))


def test_shapes_and_dtypes_are_inferred():
    x = gf.placeholder((None, 8, 9, 10, 2), "float32")
    k = gf.placeholder((3, 3, 3, 2, 5), "float32")
    y = gf.nn.conv3d(x, k, strides=(2, 1, 3), padding="same")
    assert y.shape == (None, 4, 9, 4, 5) and y.dtype == "float32"
    assert gf.nn.conv3d(x, k).shape == (None, 6, 7, 8, 5)
    assert gf.nn.max_pool3d(x).shape == (None, 4, 4, 5, 2)
    assert gf.nn.avg_pool3d(x, 3, 2, "same").shape == (None, 4, 5, 5, 2)
    cf = gf.placeholder((None, 2, 8, 9, 10), "float64")
    assert gf.nn.conv3d(cf, gf.cast(k, "float64"), data_format="channels_first").shape == (None, 5, 6, 7, 8)


@pytest.mark.parametrize("call, match", [
    (lambda x, k: gf.nn.conv3d(x[0], k), "must be 5-D"),
    (lambda x, k: gf.nn.conv3d(x, k[..., :1, :]), "input channels 2 != kernel input channels 1"),
    (lambda x, k: gf.nn.conv3d(x, k, padding="full"), "padding must be 'valid' or 'same'"),
    (lambda x, k: gf.nn.conv3d(x, k, strides=(1, 0, 1)), "positive integers"),
    (lambda x, k: gf.nn.max_pool3d(x, 9), "smaller than the window"),
    (lambda x, k: gf.nn.avg_pool3d(gf.placeholder((None, None, 4, 4, 2)), 2), "must be known"),
])
def test_errors_say_what_was_expected(call, match):
    x = gf.placeholder((None, 4, 4, 4, 2))
    k = gf.placeholder((2, 2, 2, 2, 3))
    with pytest.raises((ValueError, TypeError), match=match):
        call(x, k)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv3d_gradients_match_finite_differences(data_format):
    rng = np.random.default_rng(2)
    shape = (2, 4, 3, 4, 2) if data_format == "channels_last" else (2, 2, 4, 3, 4)
    verify_grad(lambda x, k: gf.nn.conv3d(x, k, (2, 1, 1), "same", data_format, (1, 1, 2)),
                [rng.standard_normal(shape), rng.standard_normal((2, 2, 2, 2, 3))])


def test_pool3d_gradients_match_finite_differences():
    x = np.random.default_rng(3).permutation(96).reshape(1, 4, 4, 3, 2) / 10.0  # no ties
    verify_grad(lambda a: gf.nn.max_pool3d(a, (2, 2, 2), (1, 2, 1), "same"), [x])
    verify_grad(lambda a: gf.nn.avg_pool3d(a, (3, 2, 2), (2, 1, 2), "same", "channels_first"), [x])


@settings(max_examples=6, deadline=None)
@given(dims=st.tuples(*[st.integers(2, 4)] * 3), taps=st.tuples(*[st.integers(1, 3)] * 3),
       strides=st.tuples(*[st.integers(1, 3)] * 3), padding=st.sampled_from(["valid", "same"]),
       data_format=st.sampled_from(["channels_last", "channels_first"]), seed=st.integers(0, 2**16))
def test_conv3d_transpose_is_the_adjoint_of_conv3d(dims, taps, strides, padding, data_format, seed):
    """<conv3d_transpose(y, k), x> = <y, conv3d(x, k)>, with Keras 2's output lengths."""
    rng = np.random.default_rng(seed)
    y, k = rng.standard_normal((2, *dims, 3)), rng.standard_normal((*taps, 2, 3))
    x_shape = [n * s + (max(t - s, 0) if padding == "valid" else 0) for n, t, s in zip(dims, taps, strides)]
    got = _run(lambda a, b: gf.nn.conv3d_transpose(a, b, strides, padding, data_format), y, k,
               data_format=data_format)
    assert got.shape == (2, *x_shape, 2)
    x = rng.standard_normal(got.shape)
    conv = _run(lambda a, b: gf.nn.conv3d(a, b, strides, padding, data_format), x, k, data_format=data_format)
    assert conv.shape == y.shape
    np.testing.assert_allclose(np.sum(got * x), np.sum(y * conv), rtol=1e-10)


def test_conv3d_transpose_shapes_errors_and_gradients():
    y = gf.placeholder((None, 4, 3, 5, 6), "float32")
    k = gf.placeholder((3, 2, 3, 2, 6), "float32")
    assert gf.nn.conv3d_transpose(y, k, 2, "same").shape == (None, 8, 6, 10, 2)
    assert gf.nn.conv3d_transpose(y, k, (1, 3, 2)).shape == (None, 6, 9, 11, 2)
    with pytest.raises(ValueError, match="input channels 6 != kernel input channels 5"):
        gf.nn.conv3d_transpose(y, k[..., :5])
    rng = np.random.default_rng(4)
    verify_grad(lambda a, b: gf.nn.conv3d_transpose(a, b, (2, 1, 2), "same", "channels_first"),
                [rng.standard_normal((2, 3, 2, 3, 2)), rng.standard_normal((3, 2, 2, 2, 3))])
