#!/usr/bin/env python3
"""Keras 2's classic MNIST multilayer perceptron, on graphflow.keras.

    .venv/bin/python examples/mnist_mlp.py --epochs 5

Dense(512, relu) -> Dropout(0.2) -> Dense(512, relu) -> Dropout(0.2) -> Dense(10, softmax),
RMSprop, categorical cross-entropy, on the digits of graphflow.keras.datasets.mnist.
"""
import argparse

import numpy as np

import graphflow as gf
import graphflow.keras as keras
from graphflow.keras.datasets import mnist
from graphflow.keras.layers import Dense, Dropout
from graphflow.keras.models import Sequential
from graphflow.keras.optimizers import RMSprop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--limit", type=int, default=None, help="use only this many training digits")
    parser.add_argument("--backend", default=None)
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args()
    if args.backend:
        gf.set_default_backend(args.backend)
    np.random.seed(1337)

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    print(x_train.shape[0], "train samples")
    print(x_test.shape[0], "test samples")
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)

    model = Sequential()
    model.add(Dense(512, activation="relu", input_shape=(784,)))
    model.add(Dropout(0.2))
    model.add(Dense(512, activation="relu"))
    model.add(Dropout(0.2))
    model.add(Dense(10, activation="softmax"))
    model.summary()
    model.compile(loss="categorical_crossentropy", optimizer=RMSprop(), metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        verbose=args.verbose, validation_data=(x_test, y_test))
    score = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", round(score[0], 4))
    print("Test accuracy:", round(score[1], 4))
    print("history keys:", sorted(history.history))


if __name__ == "__main__":
    main()
