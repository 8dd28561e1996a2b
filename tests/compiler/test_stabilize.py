"""Stabilisation: each rewrite fires, gives the expected schedule, agrees with the
unoptimised graph on ordinary inputs and stays finite (or accurate) where it did not."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad

from compiler_helpers import check, compile_both, fired, kernels

X = [(None, 3)]
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # O0 overflows on purpose


def _extreme(build, x, want, shape=(None, 3)):
    ph = gf.placeholder(shape, "float64")
    f0, f2 = compile_both([ph], build(ph), "O2")
    got = f2(np.asarray(x, "float64"))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    return f0(np.asarray(x, "float64"))


CASES = [  # rule, build, kernels after (O1), input that breaks the naive form, expected there
    ("log(add(x, 1))", lambda x: gf.log(x + 1), ["log1p"], [[1e-18, 0, 1]], np.log1p([[1e-18, 0, 1]])),
    ("log(sub(1, x))", lambda x: gf.log(1 - x), ["neg", "log1p"], [[1e-18, 0, .5]], np.log1p([[-1e-18, 0, -.5]])),
    ("log1p(exp(x))", lambda x: gf.log1p(gf.exp(x)), ["softplus"], [[1000, 0, -1000]],
     [[1000, np.log(2), 0]]),
    ("log(sigmoid(x))", lambda x: gf.log(gf.sigmoid(x)), ["neg", "softplus", "neg"], [[-1000, 0, 50]],
     [[-1000, -np.log(2), -np.log1p(np.exp(-50))]]),
    ("log(exp(x))", lambda x: gf.log(gf.exp(x)), [], [[1000, -1000, 1]], [[1000, -1000, 1]]),
    ("add(exp(x), -1)", lambda x: gf.exp(x) - 1, ["expm1"], [[1e-18, 0, 1]], np.expm1([[1e-18, 0, 1]])),
]


@pytest.mark.parametrize("rule,build,after,bad,want", CASES, ids=[c[0] for c in CASES])
def test_stabilising_rewrite(rule, build, after, bad, want):
    ph = gf.placeholder((None, 3), "float64")
    expr = build(ph)
    fired_in = gf.function([ph], expr, optimize="O1")
    assert rule in fired(fired_in) and sorted(kernels(fired_in)) == sorted(after), kernels(fired_in)
    check(build, X, rule, after, data=[np.random.default_rng(1).uniform(-.5, .5, (2, 3))])
    _extreme(build, bad, want)


def test_log_one_minus_sigmoid_is_minus_softplus():
    x = gf.placeholder((None, 3), "float64")
    f = gf.function([x], gf.log(1 - gf.sigmoid(x)), optimize="O1")
    assert "log1p(neg(sigmoid(x)))" in fired(f) and sorted(kernels(f)) == ["neg", "softplus"]
    np.testing.assert_allclose(f(np.array([[1000., 0, -50]])), [[-1000, -np.log(2), -np.log1p(np.exp(-50))]])


def test_log_softmax():
    check(lambda x: gf.log(gf.nn.softmax(x)), X, "log_softmax", ["log_softmax"])
    out = _extreme(lambda x: gf.log(gf.nn.softmax(x)), [[0, 1000, 0]], [[-1000, 0, -1000]])
    assert np.isinf(out).any()  # what the naive graph gives


def test_hand_written_softmax_log_becomes_logsumexp():
    def build(x):
        e = gf.exp(x)
        return gf.log(e / gf.sum(e, -1, keepdims=True))
    check(build, X, "log_of_normalised_exp", ["logsumexp", "sub"])
    out = _extreme(build, [[0, 800, 0]], [[-800, 0, -800]])
    assert not np.isfinite(out).all()


def test_log_sum_exp():
    check(lambda x: gf.log(gf.sum(gf.exp(x), -1)), X, "log_sum_exp", ["logsumexp"])
    _extreme(lambda x: gf.log(gf.sum(gf.exp(x), -1)), [[1000, 1000, -np.inf]], [1000 + np.log(2)])


def test_logsumexp_op_values_and_gradient():
    x = gf.placeholder((None, 4), "float64")
    f = gf.function([x], [gf.logsumexp(x, -1), gf.logsumexp(x, (0, 1), keepdims=True)])
    a = np.random.default_rng(2).normal(size=(3, 4))
    got = f(a)
    np.testing.assert_allclose(got[0], np.log(np.exp(a).sum(-1)))
    np.testing.assert_allclose(got[1], np.log(np.exp(a).sum(keepdims=True)))
    np.testing.assert_array_equal(f(np.full((1, 4), -np.inf))[0], [-np.inf])
    verify_grad(lambda t: gf.logsumexp(t, -1), [a])


def _targets(n=2, k=3):
    return np.eye(k)[np.arange(n) % k]


def test_cross_entropy_of_softmax_is_one_fused_op():
    x, t = gf.placeholder((None, 3), "float64"), gf.placeholder((None, 3), "float64")
    loss = -gf.sum(t * gf.log(gf.nn.softmax(x)), -1)
    f0, f1 = compile_both([x, t], loss)
    assert kernels(f1) == ["softmax_cross_entropy"] and "softmax_cross_entropy" in fired(f1)
    a = np.random.default_rng(3).normal(size=(2, 3))
    np.testing.assert_allclose(f1(a, _targets()), f0(a, _targets()))
    np.testing.assert_allclose(f1(np.array([[0, 1000., 0], [0, 0, 0]]), _targets()), [1000, np.log(3)])


SATURATED = np.array([[0, 40., 0], [1., 2., 3.]])  # p underflows below epsilon: the clip bites


@pytest.mark.parametrize("sparse", [False, True])
def test_keras_clipped_crossentropy_keeps_its_clip_in_log_space(sparse):
    """The rewrite must not change what the program computes: where Keras's clip bites,
    O2 gives O0's values and gradients (before, the clip was dropped for one fused op)."""
    x = gf.placeholder((None, 3), "float64")
    t = gf.placeholder((None,), "int64") if sparse else gf.placeholder((None, 3), "float64")
    fn = gf.nn.sparse_categorical_crossentropy if sparse else gf.nn.categorical_crossentropy
    loss = gf.sum(fn(t, gf.nn.softmax(x)))
    (g,) = gf.grad(loss, [x])
    f0, f1 = compile_both([x, t], [loss, g])
    assert "log_of_clipped_softmax" in fired(f1) and "log_softmax" in kernels(f1)
    labels = np.array([0, 2]) if sparse else _targets()
    for a in (np.random.default_rng(4).normal(size=(2, 3)), SATURATED):
        for got, want in zip(f1(a, labels), f0(a, labels)):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


def test_gradient_of_log_softmax_loss_is_softmax_minus_target_even_when_saturated():
    x, t = gf.placeholder((None, 3), "float64"), gf.placeholder((None, 3), "float64")
    loss = -gf.sum(t * gf.log(gf.nn.softmax(x)))
    g = gf.grad(loss, x)
    f0, f1 = compile_both([x, t], g, "O2")
    assert "softmax_grad_of_ratio" in fired(f1)
    a = np.array([[0, 1000., 0], [1., 2., 3.]])
    sm = np.exp(a - a.max(-1, keepdims=True))
    sm /= sm.sum(-1, keepdims=True)
    np.testing.assert_allclose(f1(a, _targets()), sm - _targets(), atol=1e-12)
    assert np.isnan(f0(a, _targets())).any()  # 0 * (1/0) in the naive gradient
