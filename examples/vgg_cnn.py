#!/usr/bin/env python3
"""The seed note's VGG-like CNN (例子：类似 VGG 的卷积神经网络), trained on real MNIST digits
with graphflow.keras.

    .venv/bin/python examples/vgg_cnn.py                 # MNIST 28x28x1, prints test accuracy
    .venv/bin/python examples/vgg_cnn.py --seed-example  # the note's own 100x100x3 dummy-data run
    mpirun -n 2 .venv/bin/python examples/vgg_cnn.py --distributed   # data-parallel over 2 processes

The architecture and optimiser are the note's (two 32-filter 3x3 convolutions, max-pool,
dropout 0.25, two 64-filter convolutions, max-pool, dropout 0.25, Dense 256, dropout
0.5, softmax over 10; SGD lr=0.01, decay=1e-6, momentum=0.9, nesterov=True) with the
input adapted to 28x28x1. Data: graphflow.keras.datasets.mnist (4,000 training and 1,000
test digits unless you have the full mnist.npz). Writes into --out: ``model.svg`` (the
layer graph) and ``train_graph.svg`` (the compiled training step drawn by gf.viz, one
box per layer) when Graphviz's ``dot`` is installed.

With ``--distributed`` (run under ``mpirun``, see docs/distributed.md) every process
trains on its shard of the digits, the gradients are averaged over the processes in one
fused all-reduce per step, and ``--batch-size`` is the global batch (each of the N
processes takes 1/N of it, so the training matches one process's); rank 0 prints and
draws. As root, Open MPI's mpirun also needs ``--allow-run-as-root``.
"""
import argparse
import os
import time

import numpy as np

import graphflow as gf
import graphflow.keras as keras
from graphflow.keras import backend as K
from graphflow.keras.datasets import mnist
from graphflow.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from graphflow.keras.models import Sequential
from graphflow.keras.optimizers import SGD


def vgg_like(input_shape, num_classes=10):
    """The seed note's model, for inputs of ``input_shape``."""
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
    model.add(Dense(num_classes, activation="softmax"))
    return model


def load_mnist(limit=None):
    """MNIST as float32 images in [0, 1] in the configured data format, one-hot labels."""
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    axis = 1 if K.image_data_format() == "channels_first" else -1
    x_train = np.expand_dims(x_train, axis).astype("float32") / 255
    x_test = np.expand_dims(x_test, axis).astype("float32") / 255
    return ((x_train, keras.utils.to_categorical(y_train, 10)),
            (x_test, keras.utils.to_categorical(y_test, 10)))


def draw(model, out):
    """model.svg (layers) and train_graph.svg (the compiled training step), if dot exists."""
    try:
        keras.utils.plot_model(model, to_file=os.path.join(out, "model.svg"), show_shapes=True)
        gf.viz.to_svg(model.train_function, os.path.join(out, "train_graph.svg"), optimized=True, collapse=1)
        print(f"wrote {out}/model.svg and {out}/train_graph.svg")
    except (RuntimeError, gf.viz.GraphvizNotFoundError) as err:
        print(f"no pictures: {err}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="use only this many training digits")
    parser.add_argument("--backend", default=None, help="graphflow backend (numpy, cupy...)")
    parser.add_argument("--seed-example", action="store_true", help="run the note's 100x100x3 dummy-data example")
    parser.add_argument("--out", default="out", help="folder for the SVG pictures")
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel training over the processes of an MPI job (start it with mpirun)")
    args = parser.parse_args()
    if args.backend:
        gf.set_default_backend(args.backend)
    if args.seed_example:
        import runpy
        runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed_vgg.py"), run_name="__main__")
        return
    np.random.seed(1337)
    os.makedirs(args.out, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = load_mnist(args.limit)
    if args.distributed:
        train_distributed(args, x_train, y_train, x_test, y_test)
        return
    model = vgg_like(x_train.shape[1:])
    model.summary()
    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
    start = time.time()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose)
    per_epoch = (time.time() - start) / max(1, args.epochs)
    loss, acc = model.evaluate(x_test, y_test, batch_size=args.batch_size, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {acc:.4f} on {len(x_test)} digits "
          f"({per_epoch:.1f} s per epoch)")
    draw(model, args.out)


def train_distributed(args, x_train, y_train, x_test, y_test):
    """The same training, data-parallel over the processes of the MPI job."""
    import graphflow.distributed as dist
    from graphflow.keras import distributed as kd
    dist.init()
    rank, size = dist.rank(), dist.size()
    if args.batch_size % size:
        raise SystemExit(f"--batch-size {args.batch_size} does not split over {size} processes")
    model = vgg_like(x_train.shape[1:])
    if rank == 0:
        model.summary()
        print(f"data-parallel over {size} processes: {args.batch_size // size} of every batch of "
              f"{args.batch_size} on each")
    sgd = kd.DistributedOptimizer(SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True))
    model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
    start = time.time()
    model.fit(*kd.shard((x_train, y_train)), batch_size=args.batch_size // size, epochs=args.epochs,
              verbose=args.verbose,
              callbacks=[kd.BroadcastGlobalVariablesCallback(0), kd.MetricAverageCallback()])
    per_epoch = (time.time() - start) / max(1, args.epochs)
    x_mine, y_mine = kd.shard((x_test, y_test))
    loss, acc = kd.average(model.evaluate(x_mine, y_mine, batch_size=args.batch_size, verbose=0))
    if rank == 0:
        print(f"test loss {loss:.4f}, test accuracy {acc:.4f} on {len(x_mine) * size} digits "
              f"({per_epoch:.1f} s per epoch, {size} processes)")
        draw(model, args.out)


if __name__ == "__main__":
    main()
