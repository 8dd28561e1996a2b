"""Runs inside the Keras 3 venv (tools/make_keras3_rnn_fixtures.py): writes a small
recurrent model — Embedding(mask_zero=True), Bidirectional(LSTM), SimpleRNN, GRU
(reset_after=True, Keras 3's default), Dense — trained a little, as ``rnn.h5`` and
``rnn.weights.h5``, with its inputs and predictions in ``rnn_expected.npz``.

    python keras3_rnn_side.py OUT_DIR
"""
import sys
from pathlib import Path

import keras
import numpy as np


def model():
    inp = keras.Input((7,), dtype="int32", name="ids")
    h = keras.layers.Embedding(12, 5, mask_zero=True, name="embed")(inp)
    h = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), name="bilstm")(h)
    h = keras.layers.SimpleRNN(3, return_sequences=True, name="simple")(h)
    h = keras.layers.GRU(3, name="gru")(h)
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax", name="probs")(h))


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = rng.integers(1, 12, (6, 7)).astype("int32")
    x[:3, :2] = 0  # pre-padding, masked
    x[3, 5:] = 0   # post-padding, masked
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, 6)]
    m = model()
    m.compile(keras.optimizers.SGD(0.1, momentum=0.9), "categorical_crossentropy")
    m.fit(x, y, epochs=3, batch_size=6, verbose=0)
    m.save(out / "rnn.h5")
    m.save_weights(out / "rnn.weights.h5")
    np.savez(out / "rnn_expected.npz", x=x, y=y, predictions=m.predict(x, verbose=0))
    print("keras", keras.__version__)


if __name__ == "__main__":
    main(sys.argv[1])
