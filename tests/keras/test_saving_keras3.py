"""HDF5 files both ways between graphflow and real Keras 3.

Offline: files Keras 3.15 wrote (tests/keras/fixtures/keras3, made by
tools/make_keras3_fixtures.py) load with the same predictions, weights and optimizer state.
Online (skipped, saying why, when no package registry can be reached): Keras 3 is
installed once into a cached venv (keras3_env.py) and, in a subprocess, writes fresh
files for graphflow and loads the files graphflow writes: predictions (compile on and
off), weights-only files in both of Keras 3's loaders, and training continued from the
restored optimizer state (SGD with momentum, Adam) must agree; Keras 3 also rebuilds a
model from graphflow's ``to_json``. Both directions share one Keras 3 process.
"""
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from graphflow.keras.layers import (Activation, AlphaDropout, AveragePooling2D, AveragePooling3D, Average,
                                    BatchNormalization, Concatenate, Conv1D, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose,
                                    Cropping2D, Cropping3D, Dense, Dot, Dropout, Embedding, Flatten,
                                    GlobalAveragePooling3D, GlobalMaxPooling3D, MaxPooling3D, SpatialDropout3D,
                                    TimeDistributed, UpSampling3D, ZeroPadding3D,
                                    GaussianDropout, GaussianNoise,
                                    GlobalAveragePooling2D, GlobalMaxPooling2D, Input, LeakyReLU, MaxPooling1D,
                                    MaxPooling2D, Permute, PReLU, Reshape, SeparableConv2D, UpSampling2D,
                                    ZeroPadding2D, add, concatenate, maximum, minimum, multiply, subtract)
from graphflow.keras.models import Model, Sequential, load_model
from graphflow.keras.optimizers import SGD, Adam
from keras3_env import keras3_python, run_keras3

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "keras3"
ATOL = 1e-5
STEPS = 3  # as keras3_side.STEPS


def cnn(names=True):
    """keras3_side.cnn() in graphflow (with graphflow's default names when ``names`` is false)."""
    n = (lambda s: {"name": s}) if names else (lambda s: {})
    return Sequential([Conv2D(2, (3, 3), activation="relu", input_shape=(6, 6, 1), **n("conv")),
                       BatchNormalization(**n("norm")), MaxPooling2D((2, 2), **n("pool")),
                       Dropout(0.25, **n("drop")), Flatten(**n("flat")),
                       Dense(3, activation="softmax", **n("probs"))])


def mlp():
    return Sequential([Dense(3, activation="relu", input_shape=(4,), name="d1"), Dense(2, name="d2")])


def functional():
    a, b = Input(shape=(4,), name="a"), Input(shape=(3,), name="b")
    joined = Concatenate(name="join")([Dense(3, activation="tanh", name="h")(a), b])
    return Model([a, b], Dense(2, name="out")(Activation("relu", name="act")(joined)))


def zoo():
    """Most of graphflow's layers (the noise layers too), with a nested model and two outputs."""
    image = Input(shape=(8, 8, 2), name="image")
    x = AveragePooling2D()(Conv2D(3, 3, padding="same", kernel_regularizer="l2", kernel_constraint="max_norm")(
        ZeroPadding2D(1)(image)))
    pooled = MaxPooling2D()(x)
    flat = Flatten()(Permute((2, 1))(Reshape((-1, 3))(Flatten()(pooled))))
    merged = concatenate([GlobalMaxPooling2D()(pooled), GlobalAveragePooling2D()(pooled)])
    merged = add([merged, multiply([merged, merged])])
    merged = Average()([merged, maximum([merged, merged]), minimum([merged, merged]), subtract([merged, merged])])
    merged = GaussianDropout(0.2)(GaussianNoise(0.1)(merged))
    hidden = Dense(4, activation="elu")(AlphaDropout(0.1)(Dropout(0.1)(BatchNormalization()(merged))))
    probs = Activation("softmax")(concatenate([hidden, Dense(4)(flat)]))
    inner = Sequential([Dense(5, input_shape=(8,), activation="tanh"), Dense(3)], name="inner")
    return Model(image, [probs, inner(probs)])


def sequence_zoo():
    """The Keras 2 layers added later: embeddings, 1-D convolutions, transposed and separable
    convolutions, up-sampling, cropping, advanced activations."""
    return Sequential([Embedding(20, 4, input_length=6), Conv1D(3, 2), MaxPooling1D(), LeakyReLU(0.2), Flatten(),
                       Dense(16), PReLU(), Reshape((4, 4, 1)), UpSampling2D(), Conv2DTranspose(2, 3),
                       Cropping2D(1), SeparableConv2D(2, 3), Flatten(), Dense(2)])


def volumes(names=True):
    """keras3_side.volumes() in graphflow: the 3-D family, TimeDistributed and Dot."""
    n = (lambda s: {"name": s}) if names else (lambda s: {})
    v, s = Input(shape=(4, 5, 6, 2), **n("volume")), Input(shape=(3, 4), **n("steps"))
    h = Conv3D(3, (2, 2, 3), padding="same", activation="relu", **n("conv3d"))(v)
    h = Conv3DTranspose(2, (2, 2, 2), strides=(1, 2, 1), **n("deconv3d"))(h)
    h = MaxPooling3D((2, 2, 2), **n("max3d"))(ZeroPadding3D(((1, 0), 1, (0, 1)), **n("pad3d"))(h))
    h = Cropping3D(((0, 1), (1, 1), 0), **n("crop3d"))(UpSampling3D((1, 2, 1), **n("up3d"))(h))
    h = SpatialDropout3D(0.2, **n("sdrop3d"))(AveragePooling3D(2, strides=1, padding="same", **n("avg3d"))(h))
    c = Conv3D(2, (1, 2, 2), strides=(1, 2, 1), data_format="channels_first", **n("conv3d_cf"))(h)
    pooled = Concatenate(**n("join"))([GlobalMaxPooling3D(**n("gmax3d"))(h), GlobalAveragePooling3D(**n("gavg3d"))(c)])
    t = Flatten(**n("flat"))(TimeDistributed(Dense(3, activation="tanh"), **n("td"))(s))
    d1, d2 = Dense(4, **n("d1"))(pooled), Dense(4, **n("d2"))(t)
    return Model([v, s], [d1, Dot(axes=1, normalize=True, **n("dot"))([d1, d2])])


def train(model, x, y, n=STEPS):
    for _ in range(n):
        model.train_on_batch(x, y)
    return model.get_weights()


def assert_close_all(got, expected, what):
    assert len(got) == len(expected), what
    for i, (g, e) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(g, e, atol=ATOL, rtol=0, err_msg=f"{what}, array {i}")


# ---------------------------------------------------------------- reading what Keras 3 wrote

def check_keras3_files(directory):
    e = np.load(directory / "expected.npz")
    model = load_model(directory / "cnn.h5")
    np.testing.assert_allclose(model.predict(e["x"]), e["cnn_predict"], atol=ATOL)
    assert [layer.name for layer in model.layers] == ["conv", "norm", "pool", "drop", "flat", "probs"]
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.nesterov
    assert model.optimizer.get_config()["lr"] == pytest.approx(0.05)
    assert model.metrics_names == ["loss", "acc"]
    # weights-only, Keras 3's .weights.h5 layout, into a model built in code with other names
    fresh = cnn(names=False)
    fresh.load_weights(directory / "cnn.weights.h5")
    np.testing.assert_allclose(fresh.predict(e["x"]), e["cnn_predict"], atol=ATOL)
    model = load_model(directory / "functional.h5")
    np.testing.assert_allclose(model.predict([e["a"], e["b"]]), e["functional_predict"], atol=ATOL)
    model = load_model(directory / "volumes.h5")  # the 3-D family, TimeDistributed, Dot
    assert type(model.get_layer("td").layer).__name__ == "Dense"
    assert_close_all(model.predict([e["v"], e["s"]]), [e["volumes_predict_0"], e["volumes_predict_1"]], "volumes")
    fresh = volumes(names=False)  # Keras 3's keys: conv3d, conv3d_1, ... and time_distributed/layer/vars
    fresh.load_weights(directory / "volumes.weights.h5")
    assert_close_all(fresh.predict([e["v"], e["s"]]), [e["volumes_predict_0"], e["volumes_predict_1"]],
                     "volumes, from Keras 3's .weights.h5")
    for name in ("sgd", "adam"):
        model = load_model(directory / f"mlp_{name}.h5")
        expected = [e[f"mlp_{name}_after_{i}"] for i in range(4)]
        assert_close_all(train(model, e["a"], e["t"]), expected, f"{name}: training continued from Keras 3's state")


def test_files_keras3_wrote_load_with_the_same_predictions_weights_and_optimizer_state():
    assert str(np.load(FIXTURES / "expected.npz")["keras_version"]).startswith("3.")
    check_keras3_files(FIXTURES)


def test_keras3_configs_are_read_as_written():
    with h5py.File(FIXTURES / "cnn.h5", "r") as f:
        config = json.loads(f.attrs["model_config"])
        assert f.attrs["keras_version"].startswith("3.") and f.attrs["backend"] == "jax"
    layers = config["config"]["layers"]
    assert layers[0]["class_name"] == "InputLayer" and "batch_shape" in layers[0]["config"]
    assert layers[1]["config"]["dtype"]["class_name"] == "DTypePolicy"
    model = load_model(FIXTURES / "cnn.h5", compile=False)
    assert model.input_shape == (None, 6, 6, 1) and model.optimizer is None
    norm = model.get_layer("norm")
    assert (norm.momentum, norm.epsilon, norm.axis) == (0.99, 0.001, -1)
    assert model.get_layer("drop").rate == 0.25


def test_a_weights_file_with_layers_of_other_classes_is_refused_naming_them():
    wrong = Sequential([Dense(3, input_shape=(36,), name="probs")])
    before = wrong.get_weights()
    with pytest.raises(ValueError, match="conv2d.*batch_normalization|by_name=True"):
        wrong.load_weights(FIXTURES / "cnn.weights.h5")
    assert_close_all(wrong.get_weights(), before, "unchanged")
    with pytest.raises(ValueError, match="shape"):  # by name: 'probs' is there, with another shape
        wrong.load_weights(FIXTURES / "cnn.weights.h5", by_name=True)


# ---------------------------------------------------------------- with Keras 3 running

@pytest.fixture(scope="session")
def keras3():
    python, reason = keras3_python()
    if python is None:
        pytest.skip(f"Keras 3 is not available: {reason}")
    return python


def graphflow_writes(folder):
    """graphflow trains and saves models, weights and a JSON architecture for Keras 3
    (plan.json lists them); returns what Keras 3 must reproduce."""
    r = np.random.default_rng(11)
    x = r.random((6, 6, 6, 1)).astype("float32")
    y = np.eye(3, dtype="float32")[r.integers(0, 3, 6)]
    a, b, t = (r.random((5, n)).astype("float32") for n in (4, 3, 2))
    for name, value in dict(x=x, y=y, a=a, b=b, t=t).items():
        np.save(folder / f"{name}.npy", value)
    model = cnn()
    model.compile(SGD(lr=0.05, momentum=0.9, nesterov=True), "categorical_crossentropy", metrics=["accuracy"])
    train(model, x, y, 2)
    model.save(folder / "cnn.h5")
    model.save_weights(folder / "cnn_w.weights.h5")
    model.save_weights(folder / "cnn_w.h5")
    (folder / "cnn.json").write_text(model.to_json())
    expected = {"cnn": model.predict(x)}
    function = functional()
    function.compile(Adam(lr=0.01), "mse")
    train(function, [a, b], t, 2)
    function.save(folder / "functional.h5")
    expected["functional"] = function.predict([a, b])
    network = zoo()
    network.compile("adam", ["categorical_crossentropy", "mse"], metrics=["accuracy"])
    images = r.random((3, 8, 8, 2)).astype("float32")
    np.save(folder / "images.npy", images)
    train(network, images, [np.eye(8, dtype="float32")[[0, 1, 2]], r.random((3, 3)).astype("float32")], 1)
    network.save(folder / "zoo.h5")
    network.save_weights(folder / "zoo_w.h5")
    (folder / "zoo.json").write_text(network.to_json())
    expected["zoo"] = network.predict(images)
    sequences = sequence_zoo()
    sequences.compile("rmsprop", "mse")
    tokens = r.integers(0, 20, (3, 6))
    np.save(folder / "tokens.npy", tokens)
    sequences.save(folder / "sequences.h5")
    expected["sequences"] = sequences.predict(tokens)
    cube = volumes()
    cube.compile("rmsprop", ["mse", "mse"])
    v, s = r.random((3, 4, 5, 6, 2)).astype("float32"), r.random((3, 3, 4)).astype("float32")
    np.save(folder / "v.npy", v)
    np.save(folder / "s.npy", s)
    train(cube, [v, s], [r.random((3, 4)).astype("float32"), r.random((3, 1)).astype("float32")], 1)
    cube.save(folder / "volumes.h5")
    cube.save_weights(folder / "volumes_w.h5")
    (folder / "volumes.json").write_text(cube.to_json())
    expected["volumes"] = cube.predict([v, s])
    plan = {"models": [{"name": "cnn", "file": "cnn.h5", "inputs": ["x.npy"]},
                       {"name": "zoo", "file": "zoo.h5", "inputs": ["images.npy"]},
                       {"name": "sequences", "file": "sequences.h5", "inputs": ["tokens.npy"]},
                       {"name": "volumes", "file": "volumes.h5", "inputs": ["v.npy", "s.npy"]},
                       {"name": "functional", "file": "functional.h5", "inputs": ["a.npy", "b.npy"]}],
            "weights": [{"name": "cnn_new", "model": "cnn.h5", "file": "cnn_w.weights.h5", "inputs": ["x.npy"]},
                        {"name": "cnn_legacy", "model": "cnn.h5", "file": "cnn_w.h5", "inputs": ["x.npy"]},
                        {"name": "cnn_json", "json": "cnn.json", "file": "cnn_w.h5", "inputs": ["x.npy"]},
                        {"name": "zoo_json", "json": "zoo.json", "file": "zoo_w.h5", "inputs": ["images.npy"]},
                        {"name": "volumes_json", "json": "volumes.json", "file": "volumes_w.h5",
                         "inputs": ["v.npy", "s.npy"]}]}
    continued = {}
    for name, optimizer in (("sgd", SGD(lr=0.1, momentum=0.9)), ("adam", Adam(lr=0.01, decay=0.01))):
        net = mlp()
        net.compile(optimizer, "mse")
        train(net, a, t, 2)
        net.save(folder / f"mlp_{name}.h5")
        expected[f"mlp_{name}"] = net.predict(a)
        continued[name] = train(net, a, t)  # where graphflow gets from the same state
        plan["models"].append({"name": f"mlp_{name}", "file": f"mlp_{name}.h5", "inputs": ["a.npy"],
                               "train": "t.npy"})
    (folder / "plan.json").write_text(json.dumps(plan))
    return expected, continued


def check_keras3_read(got, expected, continued):
    for name, value in expected.items():
        for compile in (0, 1):
            for i, out in enumerate(value if isinstance(value, list) else [value]):
                np.testing.assert_allclose(got[f"{name}_compile{compile}_{i}"], out, atol=ATOL,
                                           err_msg=f"{name}, Keras 3 load_model(compile={bool(compile)})")
    for name, model in (("cnn_new", "cnn"), ("cnn_legacy", "cnn"), ("cnn_json", "cnn"), ("zoo_json", "zoo"),
                        ("volumes_json", "volumes")):
        outputs = expected[model] if isinstance(expected[model], list) else [expected[model]]
        for i, out in enumerate(outputs):
            np.testing.assert_allclose(got[f"{name}_weights_{i}"], out, atol=ATOL, err_msg=name)
    for name, weights in continued.items():
        assert_close_all([got[f"mlp_{name}_after_{i}"] for i in range(len(weights))], weights,
                         f"{name}: Keras 3 training on from graphflow's optimizer state")


@pytest.mark.slow
def test_keras3_and_graphflow_read_each_others_files(keras3, tmp_path):
    """Both directions with one Keras 3 process (importing Keras and jax once, and
    compiling the ops both directions share once): Keras 3 writes fresh files that
    graphflow loads, and loads the files graphflow wrote."""
    ours, theirs = tmp_path / "graphflow", tmp_path / "keras3"
    ours.mkdir()
    expected, continued = graphflow_writes(ours)
    run_keras3(keras3, "write", theirs, "read", ours)
    check_keras3_files(theirs)
    check_keras3_read(np.load(ours / "keras3_results.npz"), expected, continued)
