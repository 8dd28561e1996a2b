"""Recurrent models written by Keras 3.15 (tests/keras/fixtures/keras3_rnn, made by
tools/make_keras3_rnn_fixtures.py): Embedding(mask_zero=True), Bidirectional(LSTM),
SimpleRNN and GRU(reset_after=True) load, from the whole-model ``.h5`` and from the
``.weights.h5`` layout (the weights in each RNN's ``cell``), with Keras 3's predictions
on masked inputs."""
from pathlib import Path

import numpy as np

from graphflow.keras.layers import GRU, LSTM, Bidirectional, Dense, Embedding, Input, SimpleRNN
from graphflow.keras.models import Model, load_model

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "keras3_rnn"


def _expected():
    data = np.load(FIXTURES / "rnn_expected.npz")
    return data["x"], data["predictions"]


def test_keras3_recurrent_model_loads_with_its_predictions():
    x, predictions = _expected()
    model = load_model(str(FIXTURES / "rnn.h5"))
    gru = model.get_layer("gru")
    assert gru.reset_after and gru.get_weights()[2].shape == (2, 9)
    assert model.get_layer("bilstm").forward_layer.recurrent_activation.__name__ == "sigmoid"
    np.testing.assert_allclose(model.predict(x), predictions, rtol=1e-5, atol=1e-6)


def test_keras3_weights_file_loads_into_the_same_architecture():
    x, predictions = _expected()
    inp = Input((7,), dtype="int32")
    h = Embedding(12, 5, mask_zero=True)(inp)
    h = Bidirectional(LSTM(4, return_sequences=True, recurrent_activation="sigmoid"))(h)
    h = SimpleRNN(3, return_sequences=True)(h)
    h = GRU(3, reset_after=True, recurrent_activation="sigmoid")(h)
    model = Model(inp, Dense(2, activation="softmax")(h))
    model.load_weights(str(FIXTURES / "rnn.weights.h5"))
    np.testing.assert_allclose(model.predict(x), predictions, rtol=1e-5, atol=1e-6)
