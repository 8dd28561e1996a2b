#!/usr/bin/env python3
"""Real-time augmentation of MNIST digits with ImageDataGenerator (Keras 2 style).

Writes a grid of augmented digits to OUT/augmented_digits.png (and an .svg that embeds
it): each row is one digit, the first column the original, the others random variants.
With --fit it also trains a tiny CNN on augmented batches with fit_generator.

    .venv/bin/python examples/image_augmentation.py --out /tmp/aug
    .venv/bin/python examples/image_augmentation.py --out /tmp/aug --fit --epochs 2

The data is the bundled 5,000-digit MNIST sample unless ~/.graphflow/datasets/mnist.npz
exists (see docs/keras-data.md).
"""
import argparse
import base64
import os

import numpy as np

from graphflow.keras.datasets import mnist
from graphflow.keras.preprocessing.image import ImageDataGenerator, array_to_img
from graphflow.keras.utils import to_categorical


def augmenter():
    return ImageDataGenerator(rotation_range=15, width_shift_range=0.1, height_shift_range=0.1,
                              shear_range=0.3, zoom_range=0.1, fill_mode="constant", cval=0,
                              rescale=1 / 255., data_format="channels_last")


def digit_grid(x, y, gen, rows=8, variants=7, seed=0, pad=2):
    """An image array: per row one digit of each class 0..rows-1, then its variants."""
    picks = [int(np.flatnonzero(y == d)[0]) for d in range(rows)]
    h, w = x.shape[1:3]
    grid = np.ones((rows * (h + pad) + pad, (variants + 1) * (w + pad) + pad, 1), np.float32)
    for r, i in enumerate(picks):
        original = x[i].astype(np.float32)[:, :, None]
        tiles = [original / 255.] + [gen.standardize(gen.random_transform(original, seed=seed + r * 100 + k))
                                     for k in range(variants)]
        for c, tile in enumerate(tiles):
            top, left = pad + r * (h + pad), pad + c * (w + pad)
            grid[top:top + h, left:left + w] = 1.0 - tile  # dark ink on white
    return grid


def save_grid(grid, out_dir, scale=3):
    os.makedirs(out_dir, exist_ok=True)
    img = array_to_img(grid, data_format="channels_last", scale=True)  # [0, 1] -> [0, 255]
    img = img.resize((img.width * scale, img.height * scale), resample=0)  # 0: nearest
    png = os.path.join(out_dir, "augmented_digits.png")
    img.save(png)
    with open(png, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    svg = os.path.join(out_dir, "augmented_digits.svg")
    with open(svg, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{img.width}" height="{img.height}">'
                f'<title>ImageDataGenerator on MNIST: originals, then random variants</title>'
                f'<image width="{img.width}" height="{img.height}" href="data:image/png;base64,{data}"/>'
                '</svg>\n')
    return png, svg


def fit_tiny_model(x_train, y_train, x_test, y_test, gen, epochs, steps, seed):
    from graphflow.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from graphflow.keras.models import Sequential
    from graphflow.keras.optimizers import SGD

    model = Sequential()
    model.add(Conv2D(8, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.05, momentum=0.9),
                  metrics=["accuracy"])
    batches = gen.flow(x_train[..., None], to_categorical(y_train, 10), batch_size=32, seed=seed)
    model.fit_generator(batches, steps_per_epoch=steps, epochs=epochs, verbose=2)
    x_eval = x_test[..., None].astype(np.float32) / 255.
    loss, acc = model.evaluate(x_eval, to_categorical(y_test, 10), batch_size=128, verbose=0)
    print(f"test loss {loss:.4f} - test acc {acc:.4f}")
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the pictures")
    parser.add_argument("--fit", action="store_true", help="also train a tiny CNN")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30, help="batches per epoch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    np.random.seed(args.seed)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    gen = augmenter()
    png, svg = save_grid(digit_grid(x_train, y_train, gen, seed=args.seed), args.out)
    print(f"wrote {png} and {svg}")
    if args.fit:
        fit_tiny_model(x_train, y_train, x_test, y_test, gen, args.epochs, args.steps, args.seed)


if __name__ == "__main__":
    main()
