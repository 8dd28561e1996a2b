#!/usr/bin/env python3
"""The functional API of graphflow.keras: Input, shared structure, merge layers,
BatchNormalization, callbacks, and saving, on MNIST digits.

    .venv/bin/python examples/functional_api.py --epochs 3 --out out

A small residual CNN: conv -> BatchNormalization -> two conv branches added back
(Add), a second path of global statistics joined by Concatenate, then softmax.
Trains with Adam, EarlyStopping and CSVLogger, prints the summary (with its
'Connected to' column), saves the model to HDF5, loads it back and checks that the
loaded model predicts exactly the same.
"""
import argparse
import os

import numpy as np

import graphflow.keras as keras
from graphflow.keras.callbacks import CSVLogger, EarlyStopping
from graphflow.keras.datasets import mnist
from graphflow.keras.layers import (Activation, Add, BatchNormalization, Concatenate, Conv2D, Dense, Flatten,
                                    GlobalAveragePooling2D, Input, MaxPooling2D)
from graphflow.keras.models import Model, load_model


def build():
    image = Input(shape=(28, 28, 1), name="image")
    x = Conv2D(16, (3, 3), padding="same", name="stem")(image)
    x = Activation("relu")(BatchNormalization(name="stem_bn")(x))
    branch = Conv2D(16, (3, 3), padding="same", activation="relu", name="res_a")(x)
    branch = Conv2D(16, (3, 3), padding="same", name="res_b")(branch)
    x = Activation("relu")(Add(name="residual")([x, branch]))
    x = MaxPooling2D((2, 2))(x)
    pooled = GlobalAveragePooling2D(name="global_stats")(x)
    flat = Dense(64, activation="relu")(Flatten()(MaxPooling2D((2, 2))(x)))
    joined = Concatenate(name="join")([flat, pooled])
    digit = Dense(10, activation="softmax", name="digit")(joined)
    return Model(inputs=image, outputs=digit, name="residual_cnn")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=2000, help="training digits to use")
    parser.add_argument("--out", default="out")
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args()
    np.random.seed(7)
    os.makedirs(args.out, exist_ok=True)

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train[:args.limit, :, :, None].astype("float32") / 255
    x_test = x_test[:, :, :, None].astype("float32") / 255
    y_train, y_test = keras.utils.to_categorical(y_train[:args.limit], 10), keras.utils.to_categorical(y_test, 10)

    model = build()
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=args.verbose,
                        validation_split=0.1,
                        callbacks=[EarlyStopping(monitor="val_loss", patience=2),
                                   CSVLogger(os.path.join(args.out, "functional_log.csv"))])
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {acc:.4f} after {len(history.epoch)} epochs")

    path = os.path.join(args.out, "functional.h5")
    model.save(path)
    again = load_model(path)
    same = np.allclose(again.predict(x_test[:64]), model.predict(x_test[:64]), atol=1e-6)
    print(f"saved to {path}; the reloaded model predicts the same: {same}")


if __name__ == "__main__":
    main()
