"""Element-wise ops: shape/dtype inference (None dims, NumPy 2 promotion), values against
NumPy on fresh random data with broadcasting, and a float64 gradient check per op."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad

DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float16", "float32", "float64"]

BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "equal": np.equal, "not_equal": np.not_equal,
    "less": np.less, "less_equal": np.less_equal, "greater": np.greater,
    "greater_equal": np.greater_equal, "logical_and": np.logical_and, "logical_or": np.logical_or,
}


def _sigmoid(x):
    return (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype)


UNARY = {  # name: (NumPy reference, input domain)
    "neg": (np.negative, "real"), "abs": (np.abs, "real"), "sign": (np.sign, "real"),
    "exp": (np.exp, "real"), "log": (np.log, "positive"), "log1p": (np.log1p, "positive"),
    "expm1": (np.expm1, "real"), "sqrt": (np.sqrt, "positive"),
    "rsqrt": (lambda x: 1 / np.sqrt(x), "positive"), "square": (np.square, "real"),
    "tanh": (np.tanh, "real"), "sigmoid": (_sigmoid, "real"),
    "relu": (lambda x: np.maximum(x, 0), "real"),
    "softplus": (lambda x: np.logaddexp(x.dtype.type(0), x), "real"),
    "isfinite": (np.isfinite, "real"), "logical_not": (np.logical_not, "real"),
    "stop_gradient": (lambda x: x, "real"),
}

SHAPES = [(), (5,), (2, 3, 4)]
BROADCASTS = [((3,), (3,)), ((2, 3), (3,)), ((2, 1, 4), (3, 1)), ((), (2, 2)), ((4, 1), (1, 5)),
              ((2, 3), ())]


def data(rng, shape, dtype, domain="real"):
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape).astype(dtype)
    if domain == "nonzero":
        return (rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def close(got, ref, dtype):
    assert got.shape == ref.shape
    assert got.dtype == ref.dtype, f"dtype {got.dtype}, NumPy gives {ref.dtype}"
    tol = {"float32": (2e-6, 1e-6), "float64": (1e-12, 1e-14)}.get(str(dtype), (0, 0))
    np.testing.assert_allclose(got, ref, rtol=tol[0], atol=tol[1])


# ---------------------------------------------------------------- inference
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_dtype_table_matches_numpy(name):
    """Every dtype pair: the static dtype is what NumPy 2 computes, or both refuse."""
    for a, b in itertools.product(DTYPES, DTYPES):
        try:
            ref = BINARY[name](np.ones(2, a), np.ones(2, b)).dtype.name
        except TypeError:
            ref = None
        x, y = gf.placeholder((2,), a), gf.placeholder((2,), b)
        if ref is None:
            with pytest.raises(gf.GraphError, match=name):
                getattr(gf, name)(x, y)
        else:
            assert getattr(gf, name)(x, y).dtype == ref, (name, a, b)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_dtype_follows_numpy(name):
    like = {"rsqrt": np.sqrt, "sigmoid": np.exp, "softplus": np.exp, "relu": np.negative,
            "stop_gradient": np.copy}
    for a in DTYPES:
        fn = like.get(name, UNARY[name][0])
        try:
            ref = fn(np.ones(2, a)).dtype.name
        except TypeError:
            ref = None
        x = gf.placeholder((2,), a)
        if ref is None:
            with pytest.raises(gf.GraphError):
                getattr(gf, name)(x)
        else:
            assert getattr(gf, name)(x).dtype == ref, (name, a)


@pytest.mark.parametrize("dtype, scalar, ufunc", [
    ("float32", 2.0, np.add), ("float32", 2, np.multiply), ("int32", 2.5, np.add),
    ("int8", 1, np.add), ("uint8", 2, np.multiply), ("float16", 3.0, np.multiply),
    ("bool", 1, np.add), ("int32", 2, np.true_divide), ("int64", 2, np.power),
    ("float32", True, np.add), ("float32", np.float64(2.0), np.multiply),
    ("float32", np.ones(2), np.add), ("int32", np.float32(1.5), np.add),
])
def test_python_scalars_are_weak_numpy_values_are_not(dtype, scalar, ufunc):
    x = gf.placeholder((2,), dtype)
    ref = ufunc(np.ones(2, dtype), scalar).dtype.name
    op = {np.add: "add", np.multiply: "mul", np.true_divide: "div", np.power: "pow"}[ufunc]
    assert getattr(gf, op)(x, scalar).dtype == ref
    assert getattr(gf, op)(scalar, x).dtype == ufunc(scalar, np.ones(2, dtype)).dtype.name


def test_scalar_that_does_not_fit_is_refused():
    with pytest.raises(gf.GraphError, match="1000 does not fit the int8"):
        gf.placeholder((2,), "int8") + 1000


@pytest.mark.parametrize("a, b, expected", [
    ((None, 3), (3,), (None, 3)), ((None, 1), (1, 4), (None, 4)), ((None,), (5,), (5,)),
    ((2, None), (None, 3), (2, 3)), ((None, None), (1,), (None, None)), ((), (None,), (None,)),
])
def test_broadcast_inference_with_unknown_dims(a, b, expected):
    x, y = gf.placeholder(a), gf.placeholder(b)
    for out in (x + y, gf.maximum(x, y), gf.where(x > y, x, y), x < y):
        assert out.shape == expected


def test_operators_build_the_matching_ops():
    x, y = gf.placeholder((2,)), gf.placeholder((2,))
    pairs = {x + y: "add", x - y: "sub", x * y: "mul", x / y: "div", x // y: "floordiv",
             x % y: "mod", x ** y: "pow", -x: "neg", abs(x): "abs", x < y: "less",
             x <= y: "less_equal", x > y: "greater", x >= y: "greater_equal",
             gf.equal(x, y): "equal", gf.not_equal(x, y): "not_equal", x.astype("int32"): "cast"}
    for t, name in pairs.items():
        assert t.node.op.op_name() == name
    r = 2 - x
    assert r.node.op.op_name() == "sub" and r.node.inputs[1] is x
    assert (+x) is x
    assert (1 / x).node.inputs[1] is x and (2 ** x).node.inputs[1] is x


# ---------------------------------------------------------------- values against NumPy
@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_values_match_numpy(rng, name, dtype):
    ref_fn, domain = UNARY[name]
    for shape in SHAPES:
        a = data(rng, shape, dtype, domain)
        x = gf.placeholder(shape, dtype)
        got = gf.function([x], getattr(gf, name)(x))(a)
        close(got, np.asarray(ref_fn(a)), dtype)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "floordiv", "mod", "pow", "maximum",
                                  "minimum", "equal", "not_equal", "less", "less_equal", "greater",
                                  "greater_equal"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_values_with_broadcasting_match_numpy(rng, name, dtype):
    domain_a = "positive" if name == "pow" else "real"
    domain_b = "nonzero" if name in ("div", "floordiv", "mod") else "real"
    for sa, sb in BROADCASTS:
        a, b = data(rng, sa, dtype, domain_a), data(rng, sb, dtype, domain_b)
        x, y = gf.placeholder((None,) * len(sa), dtype), gf.placeholder(sb, dtype)  # unknown dims too
        got = gf.function([x, y], getattr(gf, name)(x, y))(a, b)
        close(got, BINARY[name](a, b), dtype)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "floordiv", "mod", "maximum", "minimum"])
def test_integer_arithmetic_matches_numpy(rng, name):
    a = rng.integers(-20, 20, (3, 4)).astype(np.int32)
    b = rng.integers(1, 7, (4,)).astype(np.int64) * rng.choice([-1, 1], 4)
    x, y = gf.placeholder((3, 4), "int32"), gf.placeholder((4,), "int64")
    got = gf.function([x, y], getattr(gf, name)(x, y))(a, b)
    np.testing.assert_array_equal(got, BINARY[name](a, b))
    assert got.dtype == BINARY[name](a, b).dtype


def test_kernels_return_the_declared_dtype_for_every_input_dtype():
    """Declared (static) dtype == the dtype the backend really returns."""
    small = ["bool", "int8", "int32", "uint8", "float16", "float32", "float64"]
    for name in sorted(UNARY):
        for a in small:
            x = gf.placeholder((3,), a)
            try:
                y = getattr(gf, name)(x)
            except gf.GraphError:
                continue
            got = gf.function([x], y)(np.array([1, 2, 3]).astype(a))
            assert got.dtype == y.dtype, (name, a)
    for name in ("add", "mul", "div", "pow", "maximum", "less", "logical_or"):
        for a, b in itertools.product(small, small):
            x, z = gf.placeholder((3,), a), gf.placeholder((3,), b)
            try:
                y = getattr(gf, name)(x, z)
            except gf.GraphError:
                continue
            got = gf.function([x, z], y)(np.array([1, 2, 3]).astype(a), np.array([1, 2, 1]).astype(b))
            assert got.dtype == y.dtype, (name, a, b)


def test_logical_ops_and_isfinite(rng):
    a, b = rng.random((3, 4)) > 0.5, rng.random(4) > 0.5
    x, y = gf.placeholder((3, 4), "bool"), gf.placeholder((4,), "bool")
    f = gf.function([x, y], [gf.logical_and(x, y), gf.logical_or(x, y), gf.logical_not(x)])
    for got, ref in zip(f(a, b), [a & b, a | b, ~a]):
        np.testing.assert_array_equal(got, ref)
    v = np.array([1.0, np.inf, -np.inf, np.nan, 0.0], np.float32)
    p = gf.placeholder((5,))
    np.testing.assert_array_equal(gf.function([p], gf.isfinite(p))(v), np.isfinite(v))


def test_where_clip_cast(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    x, y = gf.placeholder((None, 4), "float64"), gf.placeholder((4,), "float64")
    f = gf.function([x, y], [gf.where(x > y, x, 0.5), gf.clip(x, -0.3, 0.4), x.astype("int32"),
                             gf.cast(x, "float16"), gf.where(gf.less(x, 0), -1, y)])
    w, c, i, h, w2 = f(a, b)
    close(w, np.where(a > b, a, 0.5), "float64")
    close(c, np.clip(a, -0.3, 0.4), "float64")
    np.testing.assert_array_equal(i, a.astype(np.int32))
    assert h.dtype == np.float16 and np.allclose(h, a, atol=1e-2)
    close(w2, np.where(a < 0, -1.0, b), "float64")
    assert gf.cast(x, "float64") is x  # casting to the own dtype is a no-op


def test_sigmoid_and_softplus_do_not_overflow():
    v = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], np.float32)
    x = gf.placeholder((5,))
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # overflow would raise here
        s, sp = gf.function([x], [gf.sigmoid(x), gf.softplus(x)])(v)
    np.testing.assert_allclose(s, [0, 0, 0.5, 1, 1], atol=1e-7)
    np.testing.assert_allclose(sp, [0, 0, np.log(2), 50, 1000], rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- gradients (float64, finite differences)
GRAD_CASES = {
    "add": (lambda a, b: a + b, [(2, 3), (3,)], "real"),
    "sub": (lambda a, b: a - b, [(2, 3), (1, 3)], "real"),
    "mul": (lambda a, b: a * b, [(2, 1), (1, 3)], "real"),
    "div": (lambda a, b: a / b, [(2, 3), (3,)], "nonzero"),
    "pow": (lambda a, b: a ** b, [(2, 3), (1, 3)], "positive"),
    "pow_scalar": (lambda a: a ** 3, [(4,)], "real"),
    "mod": (lambda a, b: gf.mod(a, b), [(2, 3), (3,)], "positive"),
    "maximum": (lambda a, b: gf.maximum(a, b), [(2, 3), (3,)], "real"),
    "minimum": (lambda a, b: gf.minimum(a, b), [(3,), (2, 3)], "real"),
    "neg": (lambda a: -a, [(2, 3)], "real"),
    "abs": (lambda a: abs(a), [(2, 3)], "nonzero"),
    "exp": (gf.exp, [(2, 3)], "real"),
    "log": (gf.log, [(2, 3)], "positive"),
    "log1p": (gf.log1p, [(2, 3)], "positive"),
    "expm1": (gf.expm1, [(2, 3)], "real"),
    "sqrt": (gf.sqrt, [(2, 3)], "positive"),
    "rsqrt": (gf.rsqrt, [(2, 3)], "positive"),
    "square": (gf.square, [(2, 3)], "real"),
    "tanh": (gf.tanh, [(2, 3)], "real"),
    "sigmoid": (gf.sigmoid, [(2, 3)], "real"),
    "relu": (gf.relu, [(2, 3)], "nonzero"),
    "softplus": (gf.softplus, [(2, 3)], "real"),
    "where": (lambda a, b: gf.where(a > 0, a * 2, b), [(2, 3), (3,)], "nonzero"),
    "clip": (lambda a: gf.clip(a, -0.4, 0.6), [(3, 4)], "real"),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_match_finite_differences(rng, name):
    fn, shapes, domain = GRAD_CASES[name]
    arrays = [data(rng, s, "float64", domain) for s in shapes]
    if name == "clip":  # keep clear of the kinks at lo and hi
        arrays[0] = np.where(np.abs(arrays[0] + 0.4) < 1e-3, 0.0, arrays[0])
        arrays[0] = np.where(np.abs(arrays[0] - 0.6) < 1e-3, 0.0, arrays[0])
    if name in ("maximum", "minimum"):  # and of ties
        arrays[1] = arrays[1] + 0.01
    assert verify_grad(fn, arrays)


def test_cast_gradient_between_floats(rng):
    assert verify_grad(lambda a: gf.cast(a, "float32") * 1.5, [rng.standard_normal((2, 3))],
                       eps=1e-3, atol=1e-3, rtol=1e-3)


def test_gradient_conventions_at_kinks():
    """Ties of maximum/minimum go to the first input; relu and abs have slope 0 at 0."""
    x, y = gf.placeholder((3,), "float64"), gf.placeholder((3,), "float64")
    outs = gf.grad(gf.maximum(x, y).sum(), [x, y]) + gf.grad(gf.minimum(x, y).sum(), [x, y])
    outs += [gf.grad(gf.relu(x).sum(), x), gf.grad(abs(x).sum(), x)]
    v = np.array([0.0, 1.0, -1.0])
    gmx, gmy, gnx, gny, grelu, gabs = gf.function([x, y], outs)(v, v)
    assert gmx.tolist() == [1, 1, 1] and gmy.tolist() == [0, 0, 0]
    assert gnx.tolist() == [1, 1, 1] and gny.tolist() == [0, 0, 0]
    assert grelu.tolist() == [0, 1, 0] and gabs.tolist() == [0, 1, -1]


def test_pow_gradient_is_finite_at_zero_base():
    x, y = gf.placeholder((2,), "float64"), gf.placeholder((2,), "float64")
    gx, gy = gf.function([x, y], gf.grad((x ** y).sum(), [x, y]))(np.array([0.0, 2.0]), np.array([2.0, 3.0]))
    np.testing.assert_allclose(gx, [0.0, 12.0])
    np.testing.assert_allclose(gy, [0.0, 8 * np.log(2)])
