"""graphflow.keras.saving: Keras 2 HDF5 files, round trips, refusal of bad files."""
import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from graphflow.keras import saving
from graphflow.keras.saving import writing
from graphflow.keras.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from graphflow.keras.models import Model, Sequential, load_model
from graphflow.keras.optimizers import SGD, Adam


def small_cnn(n_dense=3):
    model = Sequential()
    model.add(Conv2D(2, (3, 3), activation="relu", input_shape=(6, 6, 1)))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    model.add(Dense(n_dense, activation="softmax"))
    return model


@pytest.fixture
def data():
    r = np.random.default_rng(0)
    return r.random((8, 6, 6, 1)).astype("float32"), np.eye(3)[r.integers(0, 3, 8)]


@pytest.fixture
def trained(data):
    model = small_cnn()
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"],
                  optimizer=SGD(lr=0.1, momentum=0.9, decay=0.01, nesterov=True))
    for _ in range(2):
        model.train_on_batch(*data)
    return model


def weights_of(model):
    return [w.copy() for w in model.get_weights()]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------- round trips

def test_save_load_model_keeps_predictions_and_optimizer_state(trained, data, tmp_path):
    path = tmp_path / "model.h5"
    trained.save(str(path))
    again = load_model(str(path))
    np.testing.assert_array_equal(again.predict(data[0]), trained.predict(data[0]))
    assert again.optimizer.get_config() == trained.optimizer.get_config()
    assert_same(again.optimizer.get_weights(), trained.optimizer.get_weights())
    assert again.metrics_names == trained.metrics_names
    # the restored state (momenta, iteration count for decay) makes the next step identical
    trained.train_on_batch(*data)
    again.train_on_batch(*data)
    assert_same(again.get_weights(), trained.get_weights())


def test_file_has_the_layout_every_keras_from_2_2_to_3_reads(trained, tmp_path):
    path = tmp_path / "model.h5"
    saving.save_model(trained, path)
    with h5py.File(path, "r") as f:
        for key in ("keras_version", "backend", "model_config", "training_config"):
            assert isinstance(f.attrs[key], np.bytes_)
        assert f.attrs["keras_version"] == b"2.2.0" and f.attrs["backend"] == b"tensorflow"
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential" and config["config"]["name"] == trained.name
        layers = config["config"]["layers"]
        assert layers[0]["class_name"] == "InputLayer" and layers[0]["config"]["batch_input_shape"] == [None, 6, 6, 1]
        assert layers[1]["class_name"] == "Conv2D" and "batch_input_shape" not in layers[1]["config"]
        training = json.loads(f.attrs["training_config"])
        optimizer = training["optimizer_config"]
        assert optimizer["class_name"] == "SGD" and optimizer["config"]["nesterov"] is True
        schedule = optimizer["config"]["learning_rate"]  # Keras 2's decay, as Keras 3 spells it
        assert schedule["class_name"] == "InverseTimeDecay" and schedule["config"]["decay_rate"] == pytest.approx(0.01)
        assert training["loss"] == "categorical_crossentropy" and training["metrics"] == ["accuracy"]
        assert {"sample_weight_mode", "loss_weights", "weighted_metrics"} <= set(training)
        group = f["model_weights"]
        names = [n.decode() for n in group.attrs["layer_names"]]
        assert names == [layer.name for layer in trained.layers]
        conv = trained.layers[0]
        assert [n.decode() for n in group[conv.name].attrs["weight_names"]] == conv.weight_names
        np.testing.assert_array_equal(group[conv.name][conv.weight_names[0]][()], conv.get_weights()[0])
        assert len(group[names[1]].attrs["weight_names"]) == 0          # pooling: no weights
        slots = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        assert slots[0] == "sgd/iteration" and len(slots) == 1 + len(trained.trainable_weights)
        assert slots[1] == f"sgd/{conv.name}_kernel_momentum"        # Keras 3's names and order


def test_old_graphflow_and_keras_2_0_files_still_load(tmp_path):
    """A file graphflow wrote before it used the 2.2 layout (list-shaped Sequential config,
    Keras 2.0.6 optimizer order): predictions and optimizer state come back."""
    path = Path(__file__).resolve().parent / "fixtures" / "graphflow_0_1_keras2_0_6.h5"
    e = np.load(path.with_suffix(".npz"))
    with h5py.File(path, "r") as f:
        assert isinstance(json.loads(f.attrs["model_config"])["config"], list)
    model = load_model(str(path))
    np.testing.assert_allclose(model.predict(e["x"]), e["predict"], atol=1e-6)
    saved = [e[f"optimizer_{i}"] for i in range(sum(k.startswith("optimizer_") for k in e.files))]
    assert len(saved) == 9  # Adam: iterations, then m and v of four weights
    assert_same(model.optimizer.get_weights(), saved)


def test_save_and_load_weights_in_order_and_by_name(trained, tmp_path):
    path = tmp_path / "w.h5"
    trained.save_weights(str(path))
    with h5py.File(path, "r") as f:
        assert "layer_names" in f.attrs and "model_config" not in f.attrs
    fresh = small_cnn()
    fresh.load_weights(str(path))
    assert_same(fresh.get_weights(), trained.get_weights())
    # by name: only the layer whose name is in the file changes
    inp = Input(shape=(5,))
    out = Dense(3, name=trained.layers[-1].name)(Dense(8, name="not_in_file")(inp))
    other = Model(inp, out)
    before = weights_of(other)
    other.load_weights(str(path), by_name=True)
    after = other.get_weights()
    assert_same(after[:2], before[:2])
    assert_same(after[2:], trained.layers[-1].get_weights())


def test_functional_model_round_trip(tmp_path):
    a, b = Input(shape=(4,), name="a"), Input(shape=(3,), name="b")
    from graphflow.keras.layers import concatenate
    out = Dense(2, name="out")(concatenate([Dense(3)(a), Dense(3)(b)]))
    model = Model([a, b], out)
    model.compile(optimizer=Adam(), loss="mse")
    r = np.random.default_rng(1)
    xs = [r.random((5, 4)).astype("float32"), r.random((5, 3)).astype("float32")]
    model.train_on_batch(xs, r.random((5, 2)))
    model.save(str(tmp_path / "f.h5"))
    again = load_model(str(tmp_path / "f.h5"))
    np.testing.assert_array_equal(again.predict(xs), model.predict(xs))
    assert_same(again.optimizer.get_weights(), model.optimizer.get_weights())


def test_load_without_compiling_or_training_config(trained, data, tmp_path):
    path = tmp_path / "m.h5"
    saving.save_model(trained, path, include_optimizer=False)
    with pytest.warns(UserWarning, match="not\\* compiled"):
        again = load_model(str(path))
    assert again.optimizer is None
    np.testing.assert_array_equal(again.predict(data[0]), trained.predict(data[0]))
    assert load_model(str(tmp_path / "m.h5"), compile=False).optimizer is None


# ---------------------------------------------------------------- bad files

def test_truncated_foreign_and_mismatched_files_leave_the_model_alone(trained, tmp_path):
    good = tmp_path / "good.h5"
    trained.save_weights(str(good))
    blob = good.read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(blob[: len(blob) // 2])
    text = tmp_path / "text.h5"
    text.write_text("definitely not HDF5")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f.create_dataset("images", data=np.zeros((2, 2)))
    target = small_cnn()
    before = weights_of(target)
    for bad, message in ((truncated, "not a readable"), (text, "not a readable"),
                         (foreign, "layer_names")):
        with pytest.raises(ValueError, match=message):
            target.load_weights(str(bad))
        assert_same(target.get_weights(), before)
    # the conv layer fits, the dense one does not: nothing at all may change
    wrong_shape = small_cnn(n_dense=4)
    before = weights_of(wrong_shape)
    with pytest.raises(ValueError, match="shape"):
        wrong_shape.load_weights(str(good))
    assert_same(wrong_shape.get_weights(), before)
    with pytest.raises(FileNotFoundError):
        target.load_weights(str(tmp_path / "missing.h5"))


def test_layer_count_mismatch_and_weights_file_given_to_load_model(trained, tmp_path):
    path = tmp_path / "w.h5"
    trained.save_weights(str(path))
    bigger = Sequential([Dense(4, input_shape=(3,)), Dense(2), Dense(2)])
    with pytest.raises(ValueError, match="2 layers"):
        bigger.load_weights(str(path))
    with pytest.raises(ValueError, match="model_config"):
        load_model(str(path))


def test_dataset_missing_from_a_layer_group(trained, tmp_path):
    path = tmp_path / "w.h5"
    trained.save_weights(str(path))
    with h5py.File(path, "a") as f:
        del f[trained.layers[-1].name][trained.layers[-1].weight_names[1]]
    target = small_cnn()
    before = weights_of(target)
    with pytest.raises(ValueError, match="cannot load"):
        target.load_weights(str(path))
    assert_same(target.get_weights(), before)


# ---------------------------------------------------------------- atomic writes

def test_a_crash_while_writing_keeps_the_old_file(trained, tmp_path, monkeypatch):
    path = tmp_path / "ckpt.h5"
    trained.save_weights(str(path))
    original = path.read_bytes()

    def crash(group, layers):
        group.attrs["layer_names"] = [b"half"]
        raise KeyboardInterrupt("power cut")
    monkeypatch.setattr(writing, "write_layers", crash)
    with pytest.raises(KeyboardInterrupt):
        trained.save_weights(str(path))
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["ckpt.h5"], "no temporary file is left behind"


def test_overwrite_false_refuses_an_existing_file(trained, tmp_path):
    path = tmp_path / "m.h5"
    trained.save(str(path))
    with pytest.raises(FileExistsError):
        trained.save(str(path), overwrite=False)


# ---------------------------------------------------------------- files written by Keras 2

def _b(s):
    return np.bytes_(s.encode())


KERAS2_DENSE = {"trainable": True, "activation": "relu", "use_bias": True,
                "kernel_initializer": {"class_name": "VarianceScaling", "config": {
                    "scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}},
                "bias_initializer": {"class_name": "Zeros", "config": {}},
                "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                "kernel_constraint": None, "bias_constraint": None}


def test_a_file_written_by_keras2_with_plain_h5py_loads(tmp_path):
    r = np.random.default_rng(3)
    w1, b1 = r.normal(size=(4, 5)).astype("f4"), r.normal(size=5).astype("f4")
    w2, b2 = r.normal(size=(5, 3)).astype("f4"), r.normal(size=3).astype("f4")
    layers = [{"class_name": "Dense", "config": dict(KERAS2_DENSE, name="dense_1", units=5,
                                                      batch_input_shape=[None, 4], dtype="float32")},
              {"class_name": "Dense", "config": dict(KERAS2_DENSE, name="dense_2", units=3,
                                                      activation="softmax")}]
    training = {"optimizer_config": {"class_name": "SGD", "config": {
                    "lr": 0.01, "momentum": 0.9, "decay": 0.0, "nesterov": False}},
                "loss": "categorical_crossentropy", "metrics": ["accuracy"],
                "sample_weight_mode": None, "loss_weights": None}
    path = tmp_path / "keras2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = _b("2.0.6")
        f.attrs["backend"] = _b("tensorflow")
        f.attrs["model_config"] = _b(json.dumps({"class_name": "Sequential", "config": layers}))
        f.attrs["training_config"] = _b(json.dumps(training))
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [_b("dense_1"), _b("dense_2")]
        g.attrs["backend"], g.attrs["keras_version"] = _b("tensorflow"), _b("2.0.6")
        for name, (w, b) in (("dense_1", (w1, b1)), ("dense_2", (w2, b2))):
            lg = g.create_group(name)
            lg.attrs["weight_names"] = [_b(f"{name}/kernel:0"), _b(f"{name}/bias:0")]
            lg.create_dataset(f"{name}/kernel:0", data=w)
            lg.create_dataset(f"{name}/bias:0", data=b)
        og = f.create_group("optimizer_weights")
        moments = [np.full(a.shape, 0.5, "f4") for a in (w1, b1, w2, b2)]
        names = ["iterations:0"] + [f"Variable_{i}:0" for i in range(4)]
        og.attrs["weight_names"] = [_b(n) for n in names]
        for n, v in zip(names, [np.float32(7)] + moments):
            og.create_dataset(n, data=v)
    model = load_model(str(path))
    x = r.normal(size=(6, 4)).astype("f4")
    hidden = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    expected = np.exp(hidden - hidden.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    assert model.optimizer.get_config()["momentum"] == pytest.approx(0.9)
    state = model.optimizer.get_weights()
    assert float(state[0]) == 7 and all((s == 0.5).all() for s in state[1:])


def test_theano_conv_kernels_are_flipped_and_old_or_unknown_files_refused(tmp_path):
    model = Sequential([Conv2D(1, (2, 3), input_shape=(5, 5, 1), name="conv")])
    kernel = np.arange(6, dtype="f4").reshape(2, 3, 1, 1)

    def write(path, backend, version="2.0.6"):
        with h5py.File(path, "w") as f:
            f.attrs["layer_names"] = [_b("conv")]
            f.attrs["backend"], f.attrs["keras_version"] = _b(backend), _b(version)
            g = f.create_group("conv")
            g.attrs["weight_names"] = [_b("conv/kernel"), _b("conv/bias")]
            g.create_dataset("conv/kernel", data=kernel)
            g.create_dataset("conv/bias", data=np.zeros(1, "f4"))
    write(tmp_path / "th.h5", "theano")
    model.load_weights(str(tmp_path / "th.h5"))
    np.testing.assert_array_equal(model.get_weights()[0], kernel[::-1, ::-1])
    write(tmp_path / "tf.h5", "tensorflow")
    model.load_weights(str(tmp_path / "tf.h5"))
    np.testing.assert_array_equal(model.get_weights()[0], kernel)
    write(tmp_path / "k1.h5", "theano", version="1.2.2")
    with pytest.raises(ValueError, match="Keras 1.2.2.*not read"):
        model.load_weights(str(tmp_path / "k1.h5"))
    write(tmp_path / "mx.h5", "mxnet")
    with pytest.raises(ValueError, match="mxnet"):
        model.load_weights(str(tmp_path / "mx.h5"))
    np.testing.assert_array_equal(model.get_weights()[0], kernel)
