"""A small Keras model trained a few steps, shared by the reliability tests and run as a
script by the cross-process ones: ``python reliability_helpers.py SEED [MODE]`` prints
the digest of the trained weights."""
from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

import graphflow as gf
from graphflow.keras.layers import Dense, Dropout
from graphflow.keras.models import Sequential

HELPER_PATH = os.path.abspath(__file__)


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, n)]
    return x, y


def build(dropout=True, optimizer="adam"):
    """Dense -> (Dropout) -> Dense softmax; initialisers and dropout draw from the seed stream."""
    layers = [Dense(16, activation="relu", input_shape=(6,))]
    if dropout:
        layers.append(Dropout(0.3))
    layers.append(Dense(3, activation="softmax"))
    model = Sequential(layers)
    model.compile(optimizer, "categorical_crossentropy")
    return model


def seed_everything(seed, mode):
    """``mode`` 'graphflow': gf.set_random_seed; 'numpy': np.random.seed only (Keras 2 habit)."""
    if mode == "graphflow":
        gf.set_random_seed(seed)
    else:
        gf.set_random_seed(None)
        np.random.seed(seed)


def state(model):
    """Every weight and optimizer slot, as arrays (a copy)."""
    return [w.get_value() for w in model.weights] + [v.get_value() for v in model.optimizer.weights]


def digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def step_state(model):
    """Everything one training step writes: weights, optimizer slots and counters, the
    dropout mask counters (the train function's update targets), as arrays."""
    return [v.get_value() for v, _ in model.train_function.updates]


def resume_digest(seed, path, initial_epoch, epochs):
    """A fresh session: seed, load the checkpoint, train on to ``epochs``."""
    from graphflow.keras.models import load_model
    seed_everything(seed, "graphflow")
    model = load_model(path)
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=epochs, initial_epoch=initial_epoch, shuffle=True, verbose=0)
    return digest(state(model))


def train_digest(seed, mode="graphflow", epochs=3):
    seed_everything(seed, mode)
    model = build()
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=epochs, shuffle=True, verbose=0)
    return digest(state(model))


if __name__ == "__main__":
    if sys.argv[1] == "resume":
        print(resume_digest(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
    else:
        print(train_digest(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "graphflow"))
