"""dropout (keep fraction, scaling, fresh and reproducible masks, gradient = forward mask)
and the activation functions (values against NumPy formulas, float64 gradients)."""
import math

import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad


def test_dropout_keeps_the_expected_fraction_and_scales_survivors():
    x = np.ones((200, 500), np.float32)
    xs = gf.placeholder((None, 500))
    y = gf.nn.dropout(xs, 0.3, seed=1)
    assert y.shape == (None, 500) and y.dtype == "float32"
    out = gf.function([xs], y)(x)
    kept = out != 0
    assert out.dtype == np.float32
    assert abs(kept.mean() - 0.7) < 0.01  # 100k draws: the std of the mean is 0.0015
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)


def test_dropout_draws_a_fresh_mask_each_call_and_replays_with_the_seed():
    x = np.ones((50, 40), np.float32)

    def masks(seed, calls=3):
        xs = gf.placeholder(x.shape)
        f = gf.function([xs], gf.nn.dropout(xs, 0.5, seed=seed))
        return [f(x) != 0 for _ in range(calls)]
    a, b, c = masks(7), masks(7), masks(8)
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[1], a[2])
    for m, n in zip(a, b):
        np.testing.assert_array_equal(m, n)
    assert not np.array_equal(a[0], c[0])


def test_set_random_seed_makes_unseeded_dropout_reproducible():
    x = np.ones((30, 30), np.float32)

    def first_mask():
        xs = gf.placeholder(x.shape)
        return gf.function([xs], gf.nn.dropout(xs, 0.5))(x) != 0
    gf.set_random_seed(123)
    a1, a2 = first_mask(), first_mask()
    gf.set_random_seed(123)
    b1, b2 = first_mask(), first_mask()
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)  # each dropout draws its own seed from the stream
    with pytest.raises(ValueError, match="int >= 0"):
        gf.set_random_seed(-1)


def test_dropout_gradient_uses_the_forward_mask():
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 2, (20, 30)).astype(np.float32)
    xs = gf.placeholder(x.shape)
    y = gf.nn.dropout(xs, 0.4, seed=3)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    (gx,) = gf.gradients([y], [xs], [gf.constant(gy)])
    f = gf.function([xs], [y, gx])
    for _ in range(2):  # a fresh mask each call, shared by forward and backward
        out, g = f(x)
        np.testing.assert_allclose(g, gy * out / x, rtol=1e-5)


def test_dropout_verify_grad_with_a_fixed_counter():
    rng = np.random.default_rng(1)
    counter = gf.constant(np.int64(5))  # a constant counter: every call draws the same mask
    verify_grad(lambda a: gf.nn.Dropout(0.5, 11)(a, counter)[0], [rng.standard_normal((4, 5))])


def test_dropout_noise_shape_broadcasts_one_draw_per_channel():
    x = np.ones((6, 5, 5, 8), np.float32)
    xs = gf.placeholder((None, 5, 5, 8))
    out = gf.function([xs], gf.nn.dropout(xs, 0.5, seed=2, noise_shape=(None, 1, 1, 8)))(x)
    assert np.all(out == out[:, :1, :1, :])  # constant over the broadcast axes
    assert 0 < (out != 0).mean() < 1 and not np.all(out == out[:1])  # varies over batch, channels


def test_dropout_arguments():
    x = gf.placeholder((None, 4))
    assert gf.nn.dropout(x, 0.0) is x
    with pytest.raises(gf.GraphError, match=r"rate must be in \[0, 1\)"):
        gf.nn.dropout(x, 1.0)
    with pytest.raises(gf.GraphError, match="does not broadcast"):
        gf.nn.dropout(x, 0.5, noise_shape=(None, 3))
    with pytest.raises(gf.GraphError, match="float input"):
        gf.nn.dropout(gf.placeholder((3,), "int32"), 0.5)
    y1, y2 = gf.nn.dropout(x, 0.5, seed=1), gf.nn.dropout(x, 0.5, seed=1)
    assert y1.node is not y2.node  # random ops never merge


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


SELU = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946)
ACTIVATIONS = {  # name: (graphflow call, NumPy reference)
    "elu": (lambda a: gf.nn.elu(a), lambda x: np.where(x > 0, x, np.expm1(x))),
    "elu_alpha": (lambda a: gf.nn.elu(a, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    "selu": (gf.nn.selu, lambda x: SELU[1] * np.where(x > 0, x, SELU[0] * np.expm1(x))),
    "leaky_relu": (gf.nn.leaky_relu, lambda x: np.where(x > 0, x, 0.3 * x)),
    "leaky_relu_alpha": (lambda a: gf.nn.leaky_relu(a, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "softsign": (gf.nn.softsign, lambda x: x / (1 + np.abs(x))),
    "hard_sigmoid": (gf.nn.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    "gelu": (gf.nn.gelu, gelu_tanh),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values(name):
    fn, ref = ACTIVATIONS[name]
    x = np.concatenate([np.linspace(-6, 6, 49), [-800.0, 800.0]]).astype(np.float32).reshape(3, 17)
    xs = gf.placeholder((None, 17))
    y = fn(xs)
    assert y.node.op.elementwise and y.shape == (None, 17)
    with np.errstate(over="ignore"):
        want = ref(x.astype(np.float64))
    got = gf.function([xs], y)(x)
    assert got.dtype == np.float32 and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradients(name):
    x = np.array([[-3.1, -1.2, -0.4, 0.3], [0.9, 1.7, 2.8, -2.2]])  # away from kinks (0, +-2.5)
    verify_grad(ACTIVATIONS[name][0], [x])


def test_gelu_is_close_to_the_exact_form():
    x = np.linspace(-5, 5, 41)
    exact = 0.5 * x * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))
    assert np.max(np.abs(gelu_tanh(x) - exact)) < 1e-3


def test_activation_second_derivatives_exist():
    verify_grad(lambda a: gf.grad(gf.sum(gf.nn.gelu(a) + gf.nn.elu(a) + gf.nn.softsign(a)), a),
                [np.array([-1.3, -0.2, 0.4, 2.1])])


def test_activations_of_integers_compute_in_float64():
    xs = gf.placeholder((3,), "int32")
    y = gf.nn.elu(xs)
    assert y.dtype == "float64"
    np.testing.assert_allclose(gf.function([xs], y)(np.array([-1, 0, 2])), [np.expm1(-1), 0, 2])


def test_reexported_activations():
    assert gf.nn.relu is gf.relu and gf.nn.sigmoid is gf.sigmoid
    assert gf.nn.tanh is gf.tanh and gf.nn.softplus is gf.softplus


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_of_scalars(name):
    fn, ref = ACTIVATIONS[name]
    xs = gf.placeholder((), "float32")
    got = gf.function([xs], fn(xs))(np.float32(-0.7))
    assert got.shape == () and got.dtype == np.float32
    np.testing.assert_allclose(got, ref(np.float64(-0.7)), rtol=1e-5)
