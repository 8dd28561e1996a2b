"""softmax, log_softmax, one_hot and the cross-entropies: values against NumPy (Keras 2 /
TensorFlow formulas), stability with huge logits, shapes, and float64 gradients."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad

EPS = 1e-7


def np_log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def run(fn, *arrays):
    phs = [gf.placeholder(a.shape, a.dtype.name) for a in arrays]
    return gf.function(phs, fn(*phs))(*arrays)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_values(axis):
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    want = np_log_softmax(x.astype(np.float64), axis)
    got_log = run(lambda a: gf.nn.log_softmax(a, axis), x)
    got = run(lambda a: gf.nn.softmax(a, axis), x)
    assert got.dtype == got_log.dtype == np.float32
    np.testing.assert_allclose(got_log, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, np.exp(want), rtol=1e-5, atol=1e-7)


def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1000.0, 0.0, -1000.0], [3000.0, 3000.0, -5.0]], np.float32)
    got = run(gf.nn.softmax, x)
    np.testing.assert_allclose(got, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-7)
    np.testing.assert_allclose(run(gf.nn.log_softmax, x)[0], [0, -1000, -2000], rtol=1e-6)
    ce = run(lambda a: gf.nn.categorical_crossentropy(gf.constant(np.eye(3, dtype=np.float32)[[1, 0]]), a,
                                                      from_logits=True), x)
    np.testing.assert_allclose(ce, [1000, np.log(2)], rtol=1e-6)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_gradients(axis):
    x = np.random.default_rng(1).standard_normal((3, 4))
    verify_grad(lambda a: gf.nn.softmax(a, axis), [x])
    verify_grad(lambda a: gf.nn.log_softmax(a, axis), [x])


def test_softmax_rejects_ints_and_bad_axes():
    with pytest.raises(gf.GraphError, match="float"):
        gf.nn.softmax(gf.placeholder((2, 3), "int32"))
    with pytest.raises(ValueError, match="out of range"):
        gf.nn.softmax(gf.placeholder((2, 3)), axis=2)


def keras_cce(t, p):
    p = p / p.sum(-1, keepdims=True)
    return -(t * np.log(np.clip(p, EPS, 1 - EPS))).sum(-1)


def test_categorical_crossentropy_matches_keras():
    rng = np.random.default_rng(2)
    t = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]
    p = rng.uniform(0.1, 2.0, (6, 4)).astype(np.float32)  # not normalised: Keras renormalises
    p[0] = [1, 0, 0, 0]                                   # zeros are clipped, never -inf
    t[0] = [0, 1, 0, 0]
    got = run(gf.nn.categorical_crossentropy, t, p)
    assert got.shape == (6,) and got.dtype == np.float32
    np.testing.assert_allclose(got, keras_cce(t.astype(np.float64), p.astype(np.float64)), rtol=1e-5)
    assert np.isclose(got[0], -np.log(np.float32(EPS)), rtol=1e-5)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    got = run(lambda a, b: gf.nn.categorical_crossentropy(a, b, from_logits=True), t, logits)
    np.testing.assert_allclose(got, -(t * np_log_softmax(logits.astype(np.float64))).sum(-1), rtol=1e-5)


def test_crossentropy_shapes_with_unknown_batch():
    y = gf.placeholder((None, 10))
    p = gf.placeholder((None, 10))
    assert gf.nn.categorical_crossentropy(y, p).shape == (None,)
    assert gf.nn.sparse_categorical_crossentropy(gf.placeholder((None, 1)), p).shape == (None,)
    assert gf.nn.binary_crossentropy(y, p).shape == (None, 10)
    assert gf.nn.softmax_cross_entropy(gf.placeholder((None, 3, 10)), gf.placeholder((None, 3, 10))).shape \
        == (None, 3)


def test_crossentropy_gradients():
    rng = np.random.default_rng(3)
    t = rng.dirichlet(np.ones(4), 3)
    p = rng.uniform(0.2, 1.0, (3, 4))
    verify_grad(lambda a: gf.nn.categorical_crossentropy(gf.constant(t), a), [p])
    logits = rng.standard_normal((3, 4))
    verify_grad(lambda a, b: gf.nn.categorical_crossentropy(a, b, from_logits=True), [t, logits])
    bt = rng.uniform(0, 1, (3, 4))
    verify_grad(lambda a, b: gf.nn.binary_crossentropy(a, b), [bt, rng.uniform(0.05, 0.95, (3, 4))])
    verify_grad(lambda a, b: gf.nn.binary_crossentropy(a, b, from_logits=True), [bt, logits])
    labels = gf.constant(np.array([0, 3, 1]))
    verify_grad(lambda a: gf.nn.sparse_categorical_crossentropy(labels, a), [p])
    verify_grad(lambda a: gf.nn.sparse_categorical_crossentropy(labels, a, from_logits=True), [p - 0.5])


def test_clipped_probabilities_have_zero_gradient():
    t = np.array([[0.0, 1.0]], np.float32)
    p = np.array([[1.0, 0.0]], np.float32)
    ps = gf.placeholder(p.shape)
    loss = gf.sum(gf.nn.categorical_crossentropy(gf.constant(t), ps))
    g = gf.function([ps], gf.grad(loss, ps))(p)
    assert np.all(np.isfinite(g)) and g[0, 1] == 0  # the 0 sits below the clip: no gradient


def test_softmax_cross_entropy_op_and_its_gradient():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((5, 3)).astype(np.float32)
    t = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 5)]
    ls, ts = gf.placeholder(logits.shape), gf.placeholder(t.shape)
    loss = gf.nn.softmax_cross_entropy(ls, ts)
    assert isinstance(loss.node.op, gf.nn.SoftmaxCrossEntropy)
    gw = rng.standard_normal(5).astype(np.float32)
    val, g = gf.function([ls, ts], [loss, gf.gradients([loss], [ls], [gf.constant(gw)])[0]])(logits, t)
    np.testing.assert_allclose(val, -(t * np_log_softmax(logits)).sum(-1), rtol=1e-5)
    p = np.exp(np_log_softmax(logits.astype(np.float64)))
    np.testing.assert_allclose(g, (p - t) * gw[:, None], rtol=1e-5, atol=1e-6)  # softmax - target
    verify_grad(lambda a, b: gf.nn.softmax_cross_entropy(a, b), [rng.standard_normal((2, 3, 4)),
                                                                  rng.uniform(0, 1, (2, 3, 4))])


@pytest.mark.parametrize("label_shape", ["flat", "column", "float"])
def test_sparse_categorical_crossentropy_matches_keras(label_shape):
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 5, 7)
    p = rng.uniform(0.0, 1.0, (7, 5)).astype(np.float32)
    p[0, labels[0]] = 0.0
    y = {"flat": labels, "column": labels[:, None], "float": labels[:, None].astype(np.float32)}[label_shape]
    got = run(gf.nn.sparse_categorical_crossentropy, y, p)
    # Keras 2 / TF: log(clip(p)) fed to a sparse softmax cross-entropy
    logits = np.log(np.clip(p.astype(np.float64), EPS, 1 - EPS))
    want = -np_log_softmax(logits)[np.arange(7), labels]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    got = run(lambda a, b: gf.nn.sparse_categorical_crossentropy(a, b, from_logits=True), y, p)
    np.testing.assert_allclose(got, -np_log_softmax(p.astype(np.float64))[np.arange(7), labels], rtol=1e-5)


def test_sparse_labels_out_of_range_are_an_error():
    ys = gf.placeholder((None,), "int64")
    uniform = gf.constant(np.full((2, 3), 1 / 3, np.float32))
    f = gf.function([ys], gf.nn.sparse_categorical_crossentropy(ys, uniform))
    assert np.allclose(f(np.array([0, 2])), np.log(3))
    with pytest.raises(IndexError, match=r"index 3 is outside \[0, 3\)"):
        f(np.array([0, 3]))


def test_binary_crossentropy_matches_keras():
    rng = np.random.default_rng(6)
    t = rng.integers(0, 2, (4, 3)).astype(np.float32)
    p = rng.uniform(0, 1, (4, 3)).astype(np.float32)
    p[0, 0], p[0, 1] = 0.0, 1.0
    got = run(gf.nn.binary_crossentropy, t, p)
    q = np.clip(p, np.float32(EPS), np.float32(1 - EPS)).astype(np.float64)  # the clip happens in float32
    want = -(t * np.log(q) + (1 - t) * np.log(1 - q))
    assert got.dtype == np.float32 and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=2e-4)
    z = np.array([[-800.0, 0.0, 800.0]], np.float32)
    got = run(lambda a, b: gf.nn.binary_crossentropy(a, b, from_logits=True), np.ones_like(z), z)
    np.testing.assert_allclose(got, [[800, np.log(2), 0]], rtol=1e-6)


def test_one_hot():
    got = run(lambda a: gf.nn.one_hot(a, 4), np.array([[1, 3], [0, 0]]))
    np.testing.assert_array_equal(got, np.eye(4, dtype=np.float32)[[[1, 3], [0, 0]]])
    assert got.dtype == np.float32
    hot = gf.nn.one_hot(gf.placeholder((None,), "int32"), 7, "float64")
    assert hot.type == gf.TensorType("float64", (None, 7))
    with pytest.raises(gf.GraphError, match="integer indices"):
        gf.nn.one_hot(gf.placeholder((3,)), 4)


def test_binary_crossentropy_gradient_at_one_half():
    """p = 0.5 is the logit 0, where a naive |x| / relu split gets the slope wrong."""
    ps = gf.placeholder((1, 2))
    loss = gf.sum(gf.nn.binary_crossentropy(gf.constant(np.array([[0.0, 1.0]], np.float32)), ps))
    g = gf.function([ps], gf.grad(loss, ps))(np.full((1, 2), 0.5, np.float32))
    np.testing.assert_allclose(g, [[2.0, -2.0]], rtol=1e-5)  # d/dp of -log(1 - p) and -log(p)


def test_second_order_through_softmax_and_the_fused_loss():
    rng = np.random.default_rng(7)
    t = gf.constant(rng.dirichlet(np.ones(3), 2))

    def hessian_vector(a):
        loss = gf.sum(gf.nn.softmax_cross_entropy(a, t)) + gf.sum(gf.square(gf.nn.softmax(a, 0)))
        return gf.grad(loss, a)
    verify_grad(hessian_vector, [rng.standard_normal((2, 3))])
