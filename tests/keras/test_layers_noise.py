"""GaussianNoise, GaussianDropout and AlphaDropout: the identity outside training, the
right noise statistics while training, fresh noise per call and replay by seed, shapes,
config and file round trips, and float64 gradients with the noise fixed by its seed."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.keras.layers import AlphaDropout, Dense, GaussianDropout, GaussianNoise, Input
from graphflow.keras.models import Model, Sequential, load_model
from graphflow.keras.optimizers import SGD
from graphflow.testing import verify_grad

LAYERS = {"noise": lambda **k: GaussianNoise(0.3, **k), "gdrop": lambda **k: GaussianDropout(0.2, **k),
          "alpha": lambda **k: AlphaDropout(0.25, **k)}


def training_output(layer, shape):
    """A compiled function: the layer's training-phase output on an input of ``shape``."""
    inp = Input(shape=shape)
    model = Model(inp, layer(inp))
    outputs, _, _ = model.build_phase(training=True)
    return model, gf.function([inp.tensor], outputs[0])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_identity_outside_training_and_shapes(name):
    layer = LAYERS[name]()
    inp = Input(shape=(3, 4))
    out = layer(inp)
    assert out.shape == (None, 3, 4)
    x = np.random.default_rng(0).standard_normal((5, 3, 4)).astype("float32")
    model = Model(inp, out)
    np.testing.assert_array_equal(model.predict(x), x)
    assert model.count_params() == 0


def test_gaussian_noise_adds_noise_of_the_given_stddev():
    _, f = training_output(GaussianNoise(0.3, seed=1), (1000,))
    x = np.full((40, 1000), 2.0, "float32")
    noise = f(x) - x
    assert abs(noise.mean()) < 0.01 and noise.std() == pytest.approx(0.3, rel=0.02)


def test_gaussian_dropout_multiplies_by_noise_of_mean_one_and_variance_rate_over_keep():
    _, f = training_output(GaussianDropout(0.2, seed=2), (1000,))
    x = np.full((40, 1000), -3.0, "float32")
    factor = f(x) / x
    assert factor.mean() == pytest.approx(1.0, abs=0.01)
    assert factor.var() == pytest.approx(0.2 / 0.8, rel=0.03)
    for rate in (0.0, 1.0):  # as Keras 2: no noise at the ends
        _, g = training_output(GaussianDropout(rate), (3,))
        np.testing.assert_array_equal(g(x[:2, :3]), x[:2, :3])


def test_alpha_dropout_saturates_the_dropped_and_keeps_mean_and_variance():
    rate, low = 0.25, -1.6732632423543772 * 1.0507009873554805  # SELU's -alpha * scale
    _, f = training_output(AlphaDropout(rate, seed=3), (1000,))
    x = np.random.default_rng(1).standard_normal((40, 1000)).astype("float32")
    y = f(x)
    a = ((1 - rate) * (1 + rate * low ** 2)) ** -0.5
    b = -a * low * rate
    dropped = np.isclose(y, a * low + b, atol=1e-6)
    assert dropped.mean() == pytest.approx(rate, abs=0.01)
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-5)
    assert abs(y.mean()) < 0.02 and y.std() == pytest.approx(1.0, abs=0.02)


def test_alpha_dropout_noise_shape_shares_one_draw_along_an_axis():
    _, f = training_output(AlphaDropout(0.5, noise_shape=(None, 1, 6), seed=4), (5, 6))
    y = f(np.zeros((3, 5, 6), "float32"))
    assert np.all(y.min(axis=1) == y.max(axis=1))  # the same along axis 1
    assert len(np.unique(y)) == 2
    with pytest.raises(ValueError, match="does not broadcast"):
        training_output(AlphaDropout(0.5, noise_shape=(None, 2, 6)), (5, 6))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_fresh_noise_each_call_and_the_same_noise_for_the_same_seed(name):
    x = np.ones((2, 50), "float32")
    _, f = training_output(LAYERS[name](seed=7), (50,))
    first, second = f(x), f(x)
    assert not np.array_equal(first, second)
    _, again = training_output(LAYERS[name](seed=7), (50,))
    np.testing.assert_array_equal(again(x), first)
    gf.set_random_seed(5)  # seed=None: the layer draws its seed from graphflow's stream
    _, f = training_output(LAYERS[name](), (50,))
    gf.set_random_seed(5)
    _, g = training_output(LAYERS[name](), (50,))
    np.testing.assert_array_equal(f(x), g(x))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradients_with_the_noise_fixed_by_its_seed(name):
    layer = LAYERS[name](seed=11)
    layer(Input(shape=(3, 4)))
    x = np.random.default_rng(2).standard_normal((2, 3, 4))
    verify_grad(lambda t: layer.call(t, training=True), [x])


def test_noise_is_on_in_fit_and_off_in_evaluate():
    model = Sequential([GaussianNoise(1.0, input_shape=(4,)), Dense(1, kernel_initializer="ones")])
    model.compile(SGD(lr=0.0), "mse")
    x, y = np.ones((8, 4), "float32"), np.zeros((8, 1), "float32")
    losses = {float(model.train_on_batch(x, y)) for _ in range(3)}
    assert len(losses) == 3  # lr=0: only the noise changes the loss
    assert model.evaluate(x, y, verbose=0) == pytest.approx(16.0)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_config_round_trip_and_save_load(name, tmp_path):
    layer = LAYERS[name](seed=3)
    config = layer.get_config()
    assert config["seed"] == 3 and "seed" not in LAYERS[name]().get_config()  # Keras 2 configs have none
    again = type(layer).from_config(config)
    assert again.get_config() == config
    inp = Input(shape=(4,))
    model = Model(inp, Dense(2)(layer(inp)))
    model.compile("sgd", "mse")
    model.save(str(tmp_path / "m.h5"))
    loaded = load_model(str(tmp_path / "m.h5"))
    assert type(loaded.layers[1]) is type(layer) and loaded.layers[1].get_config() == config
    x = np.random.default_rng(3).standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="stddev must be >= 0"):
        GaussianNoise(-1.0)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\]"):
        GaussianDropout(1.5)
    with pytest.raises(ValueError, match="seed must be an int"):
        AlphaDropout(0.1, seed=-2)
