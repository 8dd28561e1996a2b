"""Sequential and functional models: summary (pinned to Keras 2's text), topology,
configs and JSON round trips, weights, nesting, pop, and HDF5 saving through
graphflow.keras.saving."""
import json

import numpy as np
import pytest

from graphflow.keras import backend as K
from graphflow.keras.layers import (Activation, Add, BatchNormalization, Concatenate, Conv2D, Dense, Dropout,
                                    Flatten, Input, MaxPooling2D)
from graphflow.keras.models import (Model, Sequential, load_model, model_from_config, model_from_json,
                                    model_from_yaml)

SEED_SUMMARY = """\
_________________________________________________________________
Layer (type)                 Output Shape              Param #   
=================================================================
conv2d_1 (Conv2D)            (None, 98, 98, 32)        896       
_________________________________________________________________
conv2d_2 (Conv2D)            (None, 96, 96, 32)        9248      
_________________________________________________________________
max_pooling2d_1 (MaxPooling2 (None, 48, 48, 32)        0         
_________________________________________________________________
dropout_1 (Dropout)          (None, 48, 48, 32)        0         
_________________________________________________________________
conv2d_3 (Conv2D)            (None, 46, 46, 64)        18496     
_________________________________________________________________
conv2d_4 (Conv2D)            (None, 44, 44, 64)        36928     
_________________________________________________________________
max_pooling2d_2 (MaxPooling2 (None, 22, 22, 64)        0         
_________________________________________________________________
dropout_2 (Dropout)          (None, 22, 22, 64)        0         
_________________________________________________________________
flatten_1 (Flatten)          (None, 30976)             0         
_________________________________________________________________
dense_1 (Dense)              (None, 256)               7930112   
_________________________________________________________________
dropout_3 (Dropout)          (None, 256)               0         
_________________________________________________________________
dense_2 (Dense)              (None, 10)                2570      
=================================================================
Total params: 7,998,250
Trainable params: 7,998,250
Non-trainable params: 0
_________________________________________________________________
"""


def seed_vgg(input_shape=(100, 100, 3)):
    model = Sequential()
    model.add(Conv2D(32, (3, 3), activation="relu", input_shape=input_shape))
    model.add(Conv2D(32, (3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(256, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    return model


def test_seed_summary_is_keras2_text():
    K.reset_uids()
    lines = []
    model = seed_vgg()
    model.summary(print_fn=lines.append)
    assert "\n".join(lines) + "\n" == SEED_SUMMARY
    assert model.count_params() == 7998250
    assert [layer.output_shape for layer in model.layers][-1] == (None, 10)


def test_channels_first_seed_model_shapes():
    K.reset_uids()
    K.set_image_data_format("channels_first")
    try:
        model = seed_vgg((3, 100, 100))
    finally:
        K.set_image_data_format("channels_last")
    assert model.layers[0].output_shape == (None, 32, 98, 98)
    assert model.layers[6].output_shape == (None, 64, 22, 22)
    assert model.count_params() == 7998250


def functional():
    a = Input(shape=(4,), name="a")
    b = Input(shape=(3,), name="b")
    h = Dense(5, activation="relu", name="h")(a)
    joined = Concatenate(name="join")([h, b])
    out = Dense(2, activation="softmax", name="out")(Activation("tanh", name="act")(joined))
    return Model(inputs=[a, b], outputs=out, name="two_inputs")


def test_functional_summary_topology_and_errors():
    model = functional()
    # ordered by depth from the outputs (inputs first), ties in the order they were reached
    assert [layer.name for layer in model.layers] == ["a", "h", "b", "join", "act", "out"]
    lines = []
    model.summary(print_fn=lines.append)
    assert len(lines[0]) == 100 and lines[1].startswith("Layer (type)") and "Connected to" in lines[1]
    join_row = next(i for i, line in enumerate(lines) if line.startswith("join (Concatenate)"))
    assert lines[join_row].rstrip().endswith("h[0][0]") and lines[join_row + 1].strip() == "b[0][0]"
    assert lines[-4] == "Total params: 43" and lines[-2] == "Non-trainable params: 0"
    assert model.input_shape == [(None, 4), (None, 3)] and model.output_shape == (None, 2)
    assert model.get_layer("h").output_shape == (None, 5) and model.get_layer(index=0).name in ("a", "b")
    stray = Input(shape=(3,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(inputs=model.inputs[0], outputs=Dense(1)(stray))
    with pytest.raises(TypeError, match="Keras tensors do not support arithmetic"):
        model.inputs[0] + 1
    with pytest.warns(UserWarning, match="inputs="):
        Model(input=model.inputs, output=model.outputs)


def test_functional_config_and_json_round_trip():
    model = functional()
    model.compile("sgd", "categorical_crossentropy")
    x = [np.random.rand(5, 4).astype("float32"), np.random.rand(5, 3).astype("float32")]
    config = model.get_config()
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]] and config["output_layers"] == [["out", 0, 0]]
    join = next(c for c in config["layers"] if c["name"] == "join")
    assert join["inbound_nodes"] == [[["h", 0, 0, {}], ["b", 0, 0, {}]]]
    again = Model.from_config(json.loads(json.dumps(config)))
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    from_json = model_from_json(model.to_json())
    assert isinstance(from_json, Model) and [layer.name for layer in from_json.layers] == \
        [layer.name for layer in model.layers]


def test_sequential_config_is_a_list_and_round_trips():
    model = Sequential([Dense(3, input_shape=(4,), activation="relu"), Dropout(0.1), Dense(2)])
    config = model.get_config()
    assert isinstance(config, list) and config[0]["class_name"] == "Dense"
    assert config[0]["config"]["batch_input_shape"] == (None, 4) and "batch_input_shape" not in config[2]["config"]
    data = json.loads(model.to_json())  # the layout model.save writes, which Keras 2.2+ and 3 read
    assert data["class_name"] == "Sequential" and data["keras_version"] == "2.2.0"
    layers = data["config"]["layers"]
    assert data["config"]["name"] == model.name and [c["class_name"] for c in layers] == \
        ["InputLayer", "Dense", "Dropout", "Dense"]
    assert layers[0]["config"]["batch_input_shape"] == [None, 4]
    old = json.dumps({"class_name": "Sequential", "config": config, "keras_version": "2.0.6"}, default=list)
    for read_text, text in ((model_from_json, model.to_json(indent=2)), (model_from_yaml, model.to_yaml()),
                            (model_from_json, old)):  # the 2.0.6 list layout still reads
        read = read_text(text)
        assert [type(x).__name__ for x in read.layers] == ["Dense", "Dropout", "Dense"]
        read.set_weights(model.get_weights())
        np.testing.assert_allclose(read.predict(np.ones((2, 4), "float32")),
                                   model.predict(np.ones((2, 4), "float32")), rtol=1e-6)
    again = model_from_config({"class_name": "Sequential", "config": config})
    assert isinstance(again, Sequential) and len(again.layers) == 3
    again.set_weights(model.get_weights())
    x = np.random.rand(3, 4).astype("float32")
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    with pytest.raises(TypeError, match="Sequential.from_config"):
        model_from_config(config)
    assert len(Sequential.from_config({"name": "s", "layers": config}).layers) == 3  # Keras 2.2 layout


def test_sequential_rules_pop_and_weights():
    with pytest.raises(ValueError, match="must get an `input_shape`"):
        Sequential().add(Dense(3))
    with pytest.raises(TypeError, match="instance of class Layer"):
        Sequential().add("dense")
    model = Sequential([Dense(3, input_dim=4), Dense(5), Dense(2)])
    assert model.output_shape == (None, 2) and len(model.layers) == 3
    model.pop()
    assert model.output_shape == (None, 5) and len(model.layers) == 2 and len(model.get_weights()) == 4
    model.compile("sgd", "mse")
    model.add(Dense(1))
    assert model.predict(np.zeros((2, 4))).shape == (2, 1)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((2, 4)), np.zeros((2, 1)), verbose=0)  # the graph changed since compile
    model.compile("sgd", "mse")
    weights = model.get_weights()
    model.set_weights([w + 1 for w in weights])
    np.testing.assert_allclose(model.get_weights()[0], weights[0] + 1)
    with pytest.raises(ValueError, match="weights"):
        model.set_weights(weights[:-1])


def test_trainable_flag_and_non_trainable_count():
    model = Sequential([Dense(3, input_dim=2), BatchNormalization(), Dense(1)])
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    model.layers[0].trainable = False
    model.compile("sgd", "mse")
    frozen = model.layers[0].get_weights()
    model.fit(np.random.rand(8, 2), np.random.rand(8, 1), verbose=0, epochs=2)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], frozen[0])
    lines = []
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 15" in lines  # the frozen Dense (6 + 3) and BN's moving mean/variance (3 + 3)


def test_nested_model_as_a_layer():
    inner = Sequential([Dense(3, input_dim=4, activation="relu"), Dense(2)])
    x = Input(shape=(4,))
    outer = Model(x, Activation("softmax")(inner(x)))
    assert outer.output_shape == (None, 2) and len(outer.get_weights()) == 4
    outer.compile("adam", "categorical_crossentropy")
    data = np.random.rand(6, 4).astype("float32")
    expected = inner.predict(data)
    e = np.exp(expected - expected.max(1, keepdims=True))
    np.testing.assert_allclose(outer.predict(data), e / e.sum(1, keepdims=True), rtol=1e-5)
    stacked = Sequential([inner, Activation("softmax")])
    np.testing.assert_allclose(stacked.predict(data), outer.predict(data), rtol=1e-6)


def test_shared_layer_and_add():
    shared = Dense(3, name="shared")
    a, b = Input(shape=(3,)), Input(shape=(3,))
    model = Model([a, b], Add()([shared(a), shared(b)]))
    assert len(shared.inbound_nodes) == 2 and len(model.trainable_weights) == 2
    with pytest.raises(AttributeError, match="has 2 inbound nodes"):
        shared.input
    xa, xb = np.random.rand(2, 3).astype("float32"), np.random.rand(2, 3).astype("float32")
    w, bias = shared.get_weights()
    np.testing.assert_allclose(model.predict([xa, xb]), xa @ w + xb @ w + 2 * bias, rtol=1e-5)
    again = Model.from_config(model.get_config())
    assert len(again.get_layer("shared").inbound_nodes) == 2


def test_save_and_load_model_hdf5(tmp_path):
    model = Sequential([Dense(4, input_dim=3, activation="relu"), Dense(2, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    x = np.random.rand(10, 3).astype("float32")
    y = np.eye(2, dtype="float32")[np.random.randint(0, 2, 10)]
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "m.h5"
    model.save(str(path))
    again = load_model(str(path))
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    assert again.metrics_names == ["loss", "acc"] and isinstance(again.optimizer, type(model.optimizer))
    np.testing.assert_allclose(again.optimizer.get_weights()[1], model.optimizer.get_weights()[1])
    model.save_weights(str(tmp_path / "w.h5"))
    fresh = Sequential([Dense(4, input_dim=3, activation="relu"), Dense(2, activation="softmax")])
    fresh.load_weights(str(tmp_path / "w.h5"))
    np.testing.assert_allclose(fresh.predict(x), model.predict(x), rtol=1e-6)


# ---------------------------------------------------------------- the examples, at small size

def run_example(name, *args, env=None):
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, str(root / "examples" / name), *args], capture_output=True, text=True,
                          timeout=120, cwd=root, env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_seed_vgg_example_runs_as_written():
    out = run_example("seed_vgg.py", env={"SEED_VGG_SAMPLES": "4", "SEED_VGG_EPOCHS": "1"})
    assert "Epoch 1/1" in out and "4/4 [==============================]" in out
    assert 0 < float(out.rsplit("score:", 1)[1]) < 10  # evaluate returns one float (no metrics compiled)


def test_vgg_cnn_and_mlp_examples_run(tmp_path):
    out = run_example("vgg_cnn.py", "--limit", "64", "--epochs", "1", "--verbose", "2", "--out", str(tmp_path))
    assert "Total params: 329,962" in out and "test accuracy" in out
    assert (tmp_path / "model.svg").exists() == (tmp_path / "train_graph.svg").exists()
    out = run_example("mnist_mlp.py", "--epochs", "2", "--limit", "1000", "--verbose", "0")
    assert float(out.split("Test accuracy:")[1].split()[0]) > 0.75
