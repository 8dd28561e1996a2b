"""Recurrent layers in models: Bidirectional (every merge mode), Embedding(mask_zero=True)
and mask propagation, configs, and HDF5 round trips in Keras 2's layout."""
import h5py
import numpy as np
import pytest

from graphflow.keras.layers import (GRU, LSTM, ConvLSTM2D, Bidirectional, Dense, Embedding, Flatten, Input, Masking,
                                    SimpleRNN, deserialize, serialize)
from graphflow.keras.models import Model, Sequential, load_model
from graphflow.keras.optimizers import SGD

import rnn_reference as ref


def _seq(rng, n=3, t=5, f=4):
    return rng.standard_normal((n, t, f)).astype(np.float32)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes(merge_mode):
    rng = np.random.default_rng(0)
    x = _seq(rng)
    inp = Input((5, 4))
    layer = Bidirectional(LSTM(3, return_sequences=True), merge_mode=merge_mode)
    out = layer(inp)
    got = Model(inp, out).predict(x)
    w = [v.astype(np.float64) for v in layer.get_weights()]
    assert len(w) == 6 and layer.forward_layer.name.startswith("forward_")
    fwd = ref.lstm(x.astype(np.float64), *w[:3])[0]
    bwd = ref.lstm(x[:, ::-1].astype(np.float64), *w[3:])[0][:, ::-1]
    expected = {"concat": lambda: np.concatenate([fwd, bwd], -1), "sum": lambda: fwd + bwd,
                "mul": lambda: fwd * bwd, "ave": lambda: (fwd + bwd) / 2, None: lambda: [fwd, bwd]}[merge_mode]()
    for a, b in zip(got if merge_mode is None else [got], expected if merge_mode is None else [expected]):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    with pytest.raises(ValueError, match="merge mode"):
        Bidirectional(LSTM(2), merge_mode="max")


def test_embedding_mask_zero_skips_padding_like_a_shorter_sequence():
    rng = np.random.default_rng(1)
    model = Sequential([Embedding(10, 4, mask_zero=True, input_length=6), GRU(3)])
    padded = np.array([[0, 0, 3, 5, 7, 2]])
    short = Sequential([Embedding(10, 4, input_length=4), GRU(3)])
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(padded), short.predict(padded[:, 2:]), rtol=1e-6)
    assert model.layers[0].get_config()["mask_zero"] is True
    del rng


def test_a_layer_without_mask_support_refuses_a_mask():
    with pytest.raises(TypeError, match="does not support masking"):
        Sequential([Embedding(10, 4, mask_zero=True, input_length=6), Flatten()])
    # a mask stops at a recurrent layer that returns only its last output
    model = Sequential([Masking(input_shape=(5, 2)), LSTM(3), Dense(2)])
    assert model.predict(np.zeros((1, 5, 2), np.float32)).shape == (1, 2)


def test_masks_pass_through_stacked_and_bidirectional_layers():
    x = np.random.default_rng(2).standard_normal((2, 5, 3)).astype(np.float32)
    x[0, 3:] = 0.0
    model = Sequential([Masking(input_shape=(5, 3)), Bidirectional(SimpleRNN(4, return_sequences=True)),
                        LSTM(2, return_sequences=True)])
    out = model.predict(x)
    np.testing.assert_allclose(out[0, 3], out[0, 2])  # masked steps repeat the last kept output
    np.testing.assert_allclose(out[0, 4], out[0, 2])


@pytest.mark.parametrize("make", [
    lambda: LSTM(3, dropout=0.1, recurrent_dropout=0.2, implementation=2, return_sequences=True,
                 go_backwards=True, unit_forget_bias=False, kernel_regularizer="l2", unroll=True),
    lambda: GRU(3, reset_after=True, recurrent_activation="sigmoid", stateful=False, return_state=True),
    lambda: SimpleRNN(3, activation="relu", use_bias=False, recurrent_constraint="max_norm"),
    lambda: Bidirectional(GRU(2, return_sequences=True), merge_mode="sum"),
    lambda: ConvLSTM2D(2, (3, 3), strides=2, data_format="channels_first", return_sequences=True),
])
def test_config_round_trip(make):
    layer = make()
    again = deserialize(serialize(layer))
    assert type(again) is type(layer)
    assert again.get_config() == layer.get_config()


def test_hdf5_round_trip_keeps_predictions_and_training(tmp_path):
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 12, (6, 7))
    ids[:, :2] = 0
    y = np.eye(2)[rng.integers(0, 2, 6)].astype(np.float32)
    inp = Input((7,), dtype="int32")
    h = Embedding(12, 5, mask_zero=True)(inp)
    h = Bidirectional(LSTM(4, return_sequences=True), merge_mode="concat")(h)
    h = GRU(3, reset_after=True)(h)
    model = Model(inp, Dense(2, activation="softmax")(h))
    model.compile(SGD(0.1, momentum=0.9), "categorical_crossentropy")
    model.train_on_batch(ids, y)
    path = tmp_path / "rnn.h5"
    model.save(str(path))
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f["model_weights"]["gru_1" if "gru_1" in f["model_weights"] else
                                                         list(f["model_weights"])[-2]].attrs["weight_names"]]
        assert [n.split("/")[-1] for n in names] == ["kernel:0", "recurrent_kernel:0", "bias:0"]
    again = load_model(str(path))
    np.testing.assert_array_equal(again.predict(ids), model.predict(ids))
    np.testing.assert_allclose(again.train_on_batch(ids, y), model.train_on_batch(ids, y), rtol=1e-6)
    weights_only = tmp_path / "w.h5"
    model.save_weights(str(weights_only))
    fresh = Model.from_config(model.get_config())
    fresh.load_weights(str(weights_only))
    np.testing.assert_array_equal(fresh.predict(ids), model.predict(ids))


def test_stateful_model_round_trip_and_batch_input_shape(tmp_path):
    model = Sequential([LSTM(3, stateful=True, batch_input_shape=(2, 4, 3)), Dense(1)])
    path = tmp_path / "stateful.h5"
    model.save(str(path))
    again = load_model(str(path))
    assert again.layers[0].stateful and again.layers[0].states[0].shape == (2, 3)
    x = np.ones((2, 4, 3), np.float32)
    np.testing.assert_allclose(again.predict(x, batch_size=2), model.predict(x, batch_size=2), rtol=1e-6)
