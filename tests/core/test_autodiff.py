"""Reverse-mode autodiff: gf.grad / gf.gradients, a hand-derived MLP, higher order,
disconnected and non-differentiable semantics, and verify_grad on custom ops."""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

import numpy as np
import pytest

import graphflow as gf
from graphflow.graph import Op
from graphflow.testing import GradientError, verify_grad
from graphflow_numpy import KERNELS

HERE = os.path.basename(__file__)


def here() -> int:
    return inspect.currentframe().f_back.f_lineno


def mm(a, b):
    """(n, k) @ (k, m) from core ops only (broadcast multiply, then sum over k)."""
    return (gf.expand_dims(a, 2) * gf.expand_dims(b, 0)).sum(axis=1)


# ---------------------------------------------------------------- gf.grad basics
def test_grad_returns_one_tensor_or_a_list(rng):
    x = gf.placeholder((3,), "float64")
    w = gf.variable(rng.standard_normal(3), name="gw")
    cost = (x * w * w).sum()
    gw = gf.grad(cost, w)
    assert isinstance(gw, gf.Tensor) and gw.shape == (3,) and gw.dtype == "float64"
    gx, gw2 = gf.grad(cost, [x, w])
    a = rng.standard_normal(3)
    vx, vw = gf.function([x], [gx, gw2])(a)
    np.testing.assert_allclose(vx, w.get_value() ** 2)
    np.testing.assert_allclose(vw, 2 * a * w.get_value())


def test_gradients_are_graphs_and_merge():
    x = gf.placeholder((None, 3))
    w = gf.variable(np.ones(3, np.float32))
    cost = gf.tanh(x * w).sum()
    assert gf.grad(cost, w) is gf.grad(cost, w)  # hash-consing: the same nodes, not a copy


def test_disconnected_zero_or_raise():
    x = gf.placeholder((None, 3), name="dc_x")
    line = here(); y = gf.placeholder((4, 2), "float64", name="dc_y")  # noqa: E702
    cost = x.sum()
    g = gf.grad(cost, y)
    assert g.shape == (4, 2) and g.dtype == "float64"
    np.testing.assert_array_equal(gf.function([], g)(), np.zeros((4, 2)))
    with pytest.raises(gf.DisconnectedError, match=rf"does not depend on `dc_y` \(made at .*{HERE}:{line}\)"):
        gf.grad(cost, [x, y], disconnected="raise")
    with pytest.raises(ValueError, match="disconnected must be"):
        gf.grad(cost, x, disconnected="ignore")


def test_grad_argument_errors():
    x = gf.placeholder((3,))
    with pytest.raises(ValueError, match=r"cost must be a scalar, got shape \(3,\)"):
        gf.grad(x * 2, x)
    with pytest.raises(TypeError, match="cost must be a Tensor"):
        gf.grad(3.0, x)
    i = gf.placeholder((3,), "int32", name="int_wrt")
    with pytest.raises(TypeError, match="int32 tensor `int_wrt`"):
        gf.grad((x * i).sum(), i)
    with pytest.raises(gf.NonDifferentiableError, match="int64 tensor"):
        gf.grad(gf.argmax(x), x)


def test_gradient_of_an_intermediate_and_accumulation(rng):
    x = gf.placeholder((4,), "float64")
    h = gf.exp(x)
    cost = (h * h + h + x).sum()
    gh, gx = gf.grad(cost, [h, x])
    a = rng.standard_normal(4)
    vh, vx = gf.function([x], [gh, gx])(a)
    np.testing.assert_allclose(vh, 2 * np.exp(a) + 1)
    np.testing.assert_allclose(vx, (2 * np.exp(a) + 1) * np.exp(a) + 1)


def test_gradient_dtype_follows_the_wrt():
    w32 = gf.variable(np.ones(3, np.float32))
    cost = gf.sum(gf.cast(w32, "float64") * np.arange(3.0))
    g = gf.grad(cost, w32)
    assert g.dtype == "float32"
    np.testing.assert_allclose(gf.function([], g)(), [0, 1, 2])


# ---------------------------------------------------------------- gf.gradients (VJP)
def test_gradients_vector_jacobian_product(rng):
    x = gf.placeholder((2, 3), "float64")
    W = gf.placeholder((3, 4), "float64")
    y1 = gf.tanh(mm(x, W))
    y2 = (x * x).sum(axis=1)
    v1, v2 = gf.placeholder((2, 4), "float64"), gf.placeholder((2,), "float64")
    gx, gW = gf.gradients([y1, y2], [x, W], [v1, v2])
    a, w, b1, b2 = (rng.standard_normal(s) for s in [(2, 3), (3, 4), (2, 4), (2,)])
    vx, vW = gf.function([x, W, v1, v2], [gx, gW])(a, w, b1, b2)
    d = b1 * (1 - np.tanh(a @ w) ** 2)
    np.testing.assert_allclose(vx, d @ w.T + 2 * a * b2[:, None])
    np.testing.assert_allclose(vW, a.T @ d)
    ones = gf.gradients(y2, x)[0]  # grad_ys default to ones
    np.testing.assert_allclose(gf.function([x], ones)(a), 2 * a)


def test_gradients_edge_cases():
    x, z = gf.placeholder((3,)), gf.placeholder((3,))
    assert gf.gradients([x * 2], [z]) == [None]
    with pytest.raises(ValueError, match="2 ys but 1 grad_ys"):
        gf.gradients([x, x * 2], [x], [x])
    with pytest.raises(TypeError, match="wrt must be tensors"):
        gf.gradients(x, [np.ones(3)])
    g = gf.gradients(x * 3, x, np.array([1.0, 2.0, 3.0], np.float32))[0]  # grad_ys as an array
    np.testing.assert_allclose(gf.function([x], g)(np.zeros(3)), [3, 6, 9])


# ---------------------------------------------------------------- a small MLP, by hand
def test_mlp_gradient_matches_hand_derived_backprop(rng):
    n, d, h, k = 5, 3, 4, 2
    X, T = rng.standard_normal((n, d)), rng.random((n, k))
    params = [rng.standard_normal(s) * 0.5 for s in [(d, h), (h,), (h, k), (k,)]]
    x, t = gf.placeholder((None, d), "float64"), gf.placeholder((None, k), "float64")
    W1, b1, W2, b2 = (gf.variable(p, name=nm) for p, nm in zip(params, ["W1", "b1", "W2", "b2"]))
    hidden = gf.tanh(mm(x, W1) + b1)
    prob = gf.sigmoid(mm(hidden, W2) + b2)
    loss = gf.mean((prob - t) ** 2)
    grads = gf.function([x, t], [loss] + gf.grad(loss, [W1, b1, W2, b2]))(X, T)

    w1, c1, w2, c2 = params  # the same by hand
    hh = np.tanh(X @ w1 + c1)
    p = 1 / (1 + np.exp(-(hh @ w2 + c2)))
    dp = 2 * (p - T) / (n * k)
    dz2 = dp * p * (1 - p)
    dz1 = (dz2 @ w2.T) * (1 - hh ** 2)
    expected = [np.mean((p - T) ** 2), X.T @ dz1, dz1.sum(0), hh.T @ dz2, dz2.sum(0)]
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- higher order
def test_second_and_third_derivatives_of_tanh():
    x = gf.placeholder((7,), "float64")
    d1 = gf.grad(gf.tanh(x).sum(), x)
    d2 = gf.grad(d1.sum(), x)
    d3 = gf.grad(d2.sum(), x)
    a = np.linspace(-2, 2, 7)
    t = np.tanh(a)
    v1, v2, v3 = gf.function([x], [d1, d2, d3])(a)
    np.testing.assert_allclose(v1, 1 - t ** 2)
    np.testing.assert_allclose(v2, -2 * t * (1 - t ** 2))
    np.testing.assert_allclose(v3, -2 * (1 - t ** 2) ** 2 + 4 * t ** 2 * (1 - t ** 2))


def test_hessian_of_a_cubic_is_exact(rng):
    x = gf.placeholder((3,), "float64")
    g = gf.grad((x ** 3).sum(), x)
    rows = [gf.grad(gf.sum(g * np.eye(3)[i]), x) for i in range(3)]
    a = rng.standard_normal(3)
    H = np.stack(gf.function([x], rows)(a))
    np.testing.assert_allclose(H, np.diag(6 * a), atol=1e-12)


def test_hessian_vector_product_of_an_mlp(rng):
    x = gf.placeholder((None, 3), "float64")
    W1 = gf.variable(rng.standard_normal((3, 4)), name="hv_W1")
    W2 = gf.variable(rng.standard_normal((4, 1)), name="hv_W2")
    loss = gf.mean(mm(gf.tanh(mm(x, W1)), W2) ** 2)
    g1 = gf.grad(loss, W1)
    v = gf.placeholder((3, 4), "float64")
    hv = gf.grad(gf.sum(g1 * v), W1)  # H v without forming H
    X, V = rng.standard_normal((6, 3)), rng.standard_normal((3, 4))
    got = gf.function([x, v], hv)(X, V)
    grad_at = gf.function([x], g1)
    w0, eps = W1.get_value(), 1e-5
    W1.set_value(w0 + eps * V)
    up = grad_at(X)
    W1.set_value(w0 - eps * V)
    down = grad_at(X)
    W1.set_value(w0)
    np.testing.assert_allclose(got, (up - down) / (2 * eps), rtol=1e-6, atol=1e-8)
    assert verify_grad(lambda w: gf.grad(gf.mean(mm(gf.tanh(mm(x_fixed(X), w)), W2) ** 2), w), [w0])


def x_fixed(X):
    return gf.constant(X)


# ---------------------------------------------------------------- non-differentiable ops
NON_DIFFERENTIABLE = {
    "argmax": lambda x: gf.cast(gf.argmax(x, 1), "float32").sum(),
    "comparison": lambda x: gf.cast(x > 0, "float32").sum(),
    "integer cast": lambda x: gf.cast(gf.cast(x, "int32"), "float32").sum(),
    "floordiv": lambda x: (x // 2).sum(),
    "sign": lambda x: gf.sign(x).sum(),
    "one_hot": lambda x: gf.nn.one_hot(gf.argmax(x, 1), 3).sum(),
}
CULPRIT = {"argmax": "argmax", "comparison": "greater", "integer cast": "cast", "floordiv": "floordiv",
           "sign": "sign", "one_hot": "one_hot"}


@pytest.mark.parametrize("case", sorted(NON_DIFFERENTIABLE))
def test_non_differentiable_ops_name_the_op_and_line(case):
    x = gf.placeholder((2, 3), name="nd_x")
    cost = NON_DIFFERENTIABLE[case](x) * 1.0
    line = NON_DIFFERENTIABLE[case].__code__.co_firstlineno  # where the culprit op was made
    with pytest.raises(gf.NonDifferentiableError) as err:
        gf.grad(cost, x)
    msg = str(err.value)
    assert f"{CULPRIT[case]}, made at {os.path.abspath(__file__)}:{line}" in msg
    assert "gf.stop_gradient" in msg


@pytest.mark.parametrize("case", sorted(NON_DIFFERENTIABLE))
def test_stop_gradient_disconnects_on_purpose(rng, case):
    x = gf.placeholder((2, 3), "float64")
    cost = gf.stop_gradient(NON_DIFFERENTIABLE[case](x)) + (x * x).sum()
    a = rng.standard_normal((2, 3))
    np.testing.assert_allclose(gf.function([x], gf.grad(cost, x))(a), 2 * a)
    inner = {"one_hot": lambda x: gf.nn.one_hot(gf.stop_gradient(gf.argmax(x, 1)), 3).sum()}
    if case in inner:  # stop_gradient on the integer value itself works as well
        np.testing.assert_allclose(gf.function([x], gf.grad(inner[case](x) + x.sum(), x))(a), 1.0)


def test_stop_gradient_semantics(rng):
    x = gf.placeholder((3,), "float64")
    g = gf.grad((gf.stop_gradient(x) * x).sum(), x)  # d/dx [c * x] with c = x held constant
    a = rng.standard_normal(3)
    np.testing.assert_allclose(gf.function([x], g)(a), a)
    np.testing.assert_allclose(gf.function([x], gf.stop_gradient(x) * 2)(a), 2 * a)
    with pytest.raises(gf.DisconnectedError):
        gf.grad(gf.stop_gradient(x).sum(), x, disconnected="raise")


def test_non_differentiable_ops_off_the_path_do_not_matter(rng):
    x = gf.placeholder((None, 3), "float64")
    labels = gf.placeholder((None,), "int64")
    w = gf.variable(rng.standard_normal(3), name="off_w")
    logits = x * w
    cost = gf.mean((logits - gf.cast(gf.expand_dims(labels, 1), "float64")) ** 2)
    accuracy = gf.mean(gf.cast(gf.equal(gf.argmax(logits, 1), labels), "float64"))
    gw = gf.grad(cost, w)
    X, L = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    g, acc = gf.function([x, labels], [gw, accuracy])(X, L)
    np.testing.assert_allclose(g, (2 * (X * w.get_value() - L[:, None]) * X).sum(0) / X.size, rtol=1e-12)
    assert 0 <= acc <= 1


# ---------------------------------------------------------------- custom ops and verify_grad
@dataclass(frozen=True)
class BadSquare(Op):
    """y = x^2 with a deliberately wrong gradient rule (3x instead of 2x)"""

    def infer(self, x):
        return x

    def grad(self, inputs, outputs, gys):
        return [gys[0] * 3 * inputs[0]]


@dataclass(frozen=True)
class Cube(Op):
    """y = x^3 with the right rule, dy/dx = 3x^2"""

    def infer(self, x):
        return x

    def grad(self, inputs, outputs, gys):
        return [gys[0] * 3 * inputs[0] * inputs[0]]


@dataclass(frozen=True)
class WrongArity(Cube):
    def grad(self, inputs, outputs, gys):
        return [gys[0], gys[0]]


@dataclass(frozen=True)
class WrongShape(Cube):
    def grad(self, inputs, outputs, gys):
        return [gys[0].sum()]


@KERNELS.register(BadSquare)
def _bad_square(op, node, xp):
    return lambda x, out=None: xp.multiply(x, x, out=out)


@KERNELS.register(Cube)
def _cube(op, node, xp):
    return lambda x, out=None: xp.power(x, 3, out=out)


def test_verify_grad_accepts_a_right_rule(rng):
    assert verify_grad(lambda x: Cube()(x), [rng.standard_normal((2, 3))])


def test_verify_grad_names_input_element_and_both_values():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(GradientError) as err:
        verify_grad(lambda x, y: BadSquare()(x) + y, [a, np.zeros(2)])
    msg = str(err.value)
    assert "input 0" in msg and "element (0, 0)" in msg and "4 of 4 elements differ" in msg
    sym, num = (float(msg.split(word)[1].split(",")[0].split()[0]) for word in ("symbolic ", "numeric "))
    assert num > 0 and sym == pytest.approx(1.5 * num, rel=1e-6)  # 3x vs 2x, times the projection


def test_bad_gradient_rules_are_caught_when_building():
    x = gf.placeholder((3,))
    with pytest.raises(RuntimeError, match="WrongArity.grad returned 2 gradients for 1 inputs"):
        gf.grad(WrongArity()(x).sum(), x)
    with pytest.raises(RuntimeError, match=r"WrongShape .*gave shape \(\) for an input of shape \(3,\)"):
        gf.grad(WrongShape()(x).sum(), x)
