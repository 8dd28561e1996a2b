"""Configs and files of each Keras generation, and what graphflow refuses from them.

Keras 2.0.x files are covered in test_saving.py and Keras 3's in test_saving_keras3.py;
here: tf.keras 2.x files (written with h5py as tf.keras lays them out: ``Functional``,
``GlorotUniform``, an explicit InputLayer, OptimizerV2 slot names), Keras 3 JSON configs,
and every kind of config element graphflow cannot honour, each a clear error naming the
layer and the key.
"""
import json
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from graphflow.keras.layers import Dense, Layer
from graphflow.keras.models import load_model, model_from_config, model_from_json
from graphflow.keras.saving import LoadError, Unsupported

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "keras3"


def _b(s):
    return np.bytes_(s.encode())


def tf_keras_file(path, optimizer_names):
    """A tf.keras 2.13-style functional model: InputLayer -> Dense(relu) -> BatchNorm -> Dense."""
    r = np.random.default_rng(5)
    w = {"dense/kernel:0": r.normal(size=(4, 3)).astype("f4"), "dense/bias:0": r.normal(size=3).astype("f4"),
         "bn/gamma:0": r.uniform(0.5, 2, 3).astype("f4"), "bn/beta:0": r.normal(size=3).astype("f4"),
         "bn/moving_mean:0": r.normal(size=3).astype("f4"), "bn/moving_variance:0": r.uniform(1, 2, 3).astype("f4"),
         "out/kernel:0": r.normal(size=(3, 2)).astype("f4"), "out/bias:0": r.normal(size=2).astype("f4")}
    glorot = {"class_name": "GlorotUniform", "config": {"seed": None}}
    zeros = {"class_name": "Zeros", "config": {}}
    ones = {"class_name": "Ones", "config": {}}
    layers = [
        {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "ragged": False,
                    "name": "x"}},
        {"class_name": "Dense", "name": "dense", "inbound_nodes": [[["x", 0, 0, {}]]],
         "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 3, "activation": "relu",
                    "use_bias": True, "kernel_initializer": glorot, "bias_initializer": zeros,
                    "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}, "bias_regularizer": None,
                    "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}},
        {"class_name": "BatchNormalization", "name": "bn", "inbound_nodes": [[["dense", 0, 0, {}]]],
         "config": {"name": "bn", "trainable": True, "dtype": "float32", "axis": [1], "momentum": 0.99,
                    "epsilon": 0.001, "center": True, "scale": True, "beta_initializer": zeros,
                    "gamma_initializer": ones, "moving_mean_initializer": zeros,
                    "moving_variance_initializer": ones, "beta_regularizer": None, "gamma_regularizer": None,
                    "beta_constraint": None, "gamma_constraint": None}},
        {"class_name": "Dense", "name": "out", "inbound_nodes": [[["bn", 0, 0, {}]]],
         "config": {"name": "out", "trainable": True, "dtype": "float32", "units": 2, "activation": "linear",
                    "use_bias": True, "kernel_initializer": glorot, "bias_initializer": zeros,
                    "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                    "kernel_constraint": None, "bias_constraint": None}}]
    config = {"class_name": "Functional", "config": {"name": "model", "layers": layers,
                                                     "input_layers": [["x", 0, 0]], "output_layers": [["out", 0, 0]]}}
    training = {"loss": "mse", "metrics": None, "weighted_metrics": None, "loss_weights": None,
                "optimizer_config": {"class_name": "Adam", "config": {
                    "name": "Adam", "learning_rate": 0.002, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
                    "epsilon": 1e-07, "amsgrad": False}}}
    layer_weights = {"x": [], "dense": ["dense/kernel:0", "dense/bias:0"],
                     "bn": ["bn/gamma:0", "bn/beta:0", "bn/moving_mean:0", "bn/moving_variance:0"],
                     "out": ["out/kernel:0", "out/bias:0"]}
    trainable = ["dense/kernel", "dense/bias", "bn/gamma", "bn/beta", "out/kernel", "out/bias"]
    slots = {name: np.full(w[name + ":0"].shape, 0.25 * (i + 1), "f4") for i, name in enumerate(trainable)}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"], f.attrs["backend"] = _b("2.13.1"), _b("tensorflow")
        f.attrs["model_config"] = _b(json.dumps(config))
        f.attrs["training_config"] = _b(json.dumps(training))
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [_b(n) for n in layer_weights]
        g.attrs["backend"], g.attrs["keras_version"] = _b("tensorflow"), _b("2.13.1")
        for layer, names in layer_weights.items():
            lg = g.create_group(layer)
            lg.attrs["weight_names"] = [_b(n) for n in names]
            for n in names:
                lg.create_dataset(n, data=w[n])
        og = f.create_group("optimizer_weights")
        entries = optimizer_names(trainable, slots)
        og.attrs["weight_names"] = [_b(n) for n, _ in entries]
        for n, v in entries:
            og.create_dataset(n, data=v)
    return w, slots


def v2_names(trainable, slots):  # TF 2.2-2.10 OptimizerV2: iter, all m, all v
    return ([("Adam/iter:0", np.int64(7))] + [(f"Adam/{n}/m:0", slots[n]) for n in trainable]
            + [(f"Adam/{n}/v:0", slots[n] * 2) for n in trainable])


def tf211_names(trainable, slots):  # TF 2.11+ optimizer: iteration, then m and v interleaved, reversed here
    entries = [("Adam/iteration:0", np.int64(7))]
    for n in reversed(trainable):  # the order does not matter: names say which is which
        entries += [(f"Adam/m/{n}:0", slots[n]), (f"Adam/v/{n}:0", slots[n] * 2)]
    return entries


@pytest.mark.parametrize("optimizer_names", [v2_names, tf211_names])
def test_a_tf_keras_2_file_loads_with_predictions_and_optimizer_state(tmp_path, optimizer_names):
    w, slots = tf_keras_file(tmp_path / "tf.h5", optimizer_names)
    model = load_model(tmp_path / "tf.h5")
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("f4")
    h = np.maximum(x @ w["dense/kernel:0"] + w["dense/bias:0"], 0)
    h = (h - w["bn/moving_mean:0"]) / np.sqrt(w["bn/moving_variance:0"] + 1e-3) * w["bn/gamma:0"] + w["bn/beta:0"]
    np.testing.assert_allclose(model.predict(x), h @ w["out/kernel:0"] + w["out/bias:0"], rtol=1e-5, atol=1e-5)
    assert model.get_layer("bn").axis == 1 and model.get_layer("dense").kernel_regularizer.l2 == pytest.approx(0.01)
    optimizer = model.optimizer
    assert optimizer.get_config()["lr"] == pytest.approx(0.002) and optimizer.epsilon == pytest.approx(1e-7)
    assert float(optimizer.iterations.get_value()) == 7
    for p in model.trainable_weights:
        key = re.sub(r"_\d+$", "", p.name)  # graphflow suffixes names already taken in the process
        np.testing.assert_array_equal(optimizer._slot("m", p).get_value(), slots[key])
        np.testing.assert_array_equal(optimizer._slot("v", p).get_value(), slots[key] * 2)


def keras3_json(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_keras3_json_configs_build_the_same_models():
    e = np.load(FIXTURES / "expected.npz")
    for name, x in (("cnn", e["x"]), ("functional", [e["a"], e["b"]])):
        model = model_from_json((FIXTURES / f"{name}.json").read_text())
        model.set_weights(load_model(FIXTURES / f"{name}.h5", compile=False).get_weights())
        np.testing.assert_allclose(model.predict(x), e[f"{name}_predict"], atol=1e-5)


def cnn_config_with(change):
    config = keras3_json("cnn")
    layers = {entry["config"]["name"]: entry for entry in config["config"]["layers"]}
    change(layers)
    return config


@pytest.mark.parametrize("change, message", [
    (lambda L: L["conv"]["config"].update(groups=2), r"layer 'conv' \(Conv2D\): key 'groups' = 2"),
    (lambda L: L["norm"]["config"].update(renorm=True), r"layer 'norm' \(BatchNormalization\): key 'renorm'"),
    (lambda L: L["probs"]["config"]["dtype"]["config"].update(name="mixed_float16"),
     r"layer 'probs' \(Dense\): key 'dtype' = 'mixed_float16'"),
    (lambda L: L["probs"]["config"].update(activation="hard_sigmoid"),
     r"layer 'probs' \(Dense\): key 'activation' = 'hard_sigmoid': Keras 3's hard_sigmoid"),
    (lambda L: L["conv"]["config"]["kernel_initializer"].update(
        class_name="VarianceScaling", config={"scale": 1.0, "mode": "fan_in", "distribution": "untruncated_normal"}),
     r"layer 'conv' \(Conv2D\), key 'kernel_initializer'.*untruncated_normal"),
    (lambda L: L["probs"]["config"].update(surprise=1), r"layer 'probs' \(Dense\).*'surprise'"),
    (lambda L: L["probs"].update(class_name="Fancy", module="my_pkg", registered_name="my_pkg>Fancy"),
     r"layer 'probs' \(Fancy\).*Unknown layer: Fancy.*custom_objects"),
])
def test_what_graphflow_cannot_honour_is_refused_naming_layer_and_key(change, message):
    with pytest.raises(LoadError, match=message):
        model_from_config(cnn_config_with(change))


def test_a_registered_custom_layer_is_found_in_custom_objects():
    class Fancy(Dense):
        pass
    config = cnn_config_with(lambda L: L["probs"].update(class_name="Fancy", module="my_pkg",
                                                         registered_name="my_pkg>Fancy"))
    model = model_from_config(config, custom_objects={"my_pkg>Fancy": Fancy})
    assert type(model.layers[-1]) is Fancy
    assert isinstance(Fancy, type) and issubclass(Fancy, Layer)


def test_keras3_optimizer_options_graphflow_lacks_refuse_compiling_but_not_loading(tmp_path):
    path = tmp_path / "amsgrad.h5"
    shutil.copy(FIXTURES / "mlp_adam.h5", path)
    with h5py.File(path, "a") as f:
        training = json.loads(f.attrs["training_config"])
        training["optimizer_config"]["config"]["amsgrad"] = True
        f.attrs["training_config"] = json.dumps(training)
    with pytest.raises(Unsupported, match="compile=False.*optimizer Adam: key 'amsgrad' = True"):
        load_model(path)
    assert load_model(path, compile=False).optimizer is None


def test_keras3_rmsprop_loads_and_says_how_its_epsilon_differs(tmp_path):
    path = tmp_path / "rms.h5"
    shutil.copy(FIXTURES / "mlp_sgd.h5", path)
    with h5py.File(path, "a") as f:
        training = json.loads(f.attrs["training_config"])
        training["optimizer_config"] = {"class_name": "RMSprop", "config": {
            "name": "rmsprop", "learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
            "centered": False, "weight_decay": None, "clipnorm": None, "global_clipnorm": 1.0, "clipvalue": None,
            "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None}}
        f.attrs["training_config"] = json.dumps(training)
        del f["optimizer_weights"]
    with pytest.warns(UserWarning, match="epsilon under the square root"):
        model = load_model(path)
    assert model.optimizer.get_config()["clipnorm"] == 1.0  # Keras 3's global_clipnorm
