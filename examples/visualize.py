#!/usr/bin/env python3
"""Pictures of graphflow graphs with ``gf.viz``: a small expression, and the training
step of a VGG-like CNN (the seed note's model) as written and as the compiler runs it.

    .venv/bin/python examples/visualize.py --out out

Writes into OUT (default ./out):

- ``small.svg``          a dense layer + sigmoid + loss, op by op, as written
- ``small_train.svg``    the same with its gradient and an SGD update (gradients dashed orange)
- ``small_train_O2.svg`` that training function as compiled at O2 (fused ops list what they fused)
- ``cnn_layers.svg``     the CNN's training graph with every layer collapsed to one box
- ``cnn_forward.svg``    the CNN op by op, gradients hidden
- ``cnn_train_O2.svg``   the compiled training step, gradients collapsed per layer
- ``cnn_train.txt``      the compiled training step as a text tree (gf.viz.dprint)

Layers are name scopes, so each is one cluster (or one box when collapsed). Needs
Graphviz's ``dot`` for the SVGs (the text tree needs nothing).
"""
import argparse
import os
import time

import numpy as np

import graphflow as gf


def dense(x, units, name, rng, activation=None):
    """``activation(x @ w + b)`` in scope ``name`` (a 1×1 convolution where ``gf.matmul``
    is absent)."""
    with gf.name_scope(name):
        fan_in = x.shape[-1]
        w = gf.variable(rng.normal(0, (2 / fan_in) ** 0.5, (fan_in, units)).astype("float32"), name="kernel")
        b = gf.variable(np.zeros(units, "float32"), name="bias")
        if hasattr(gf, "matmul"):
            y = x @ w + b
        else:
            as_image = gf.reshape(x, (-1, 1, 1, fan_in))
            y = gf.reshape(gf.nn.conv2d(as_image, gf.reshape(w, (1, 1, fan_in, units))), (-1, units)) + b
        return y if activation is None else activation(y)


def conv(x, filters, name, rng):
    """``relu(conv2d(x, k, 3×3 same) + b)`` in scope ``name``."""
    with gf.name_scope(name):
        c_in = x.shape[-1]
        k = gf.variable(rng.normal(0, (2 / (9 * c_in)) ** 0.5, (3, 3, c_in, filters)).astype("float32"),
                        name="kernel")
        b = gf.variable(np.zeros(filters, "float32"), name="bias")
        return gf.relu(gf.nn.bias_add(gf.nn.conv2d(x, k, padding="same"), b))


def sgd(loss, params, lr=0.01, momentum=0.9):
    """Momentum SGD updates (Keras 2's SGD), built in scope ``sgd``."""
    grads = gf.grad(loss, params)
    updates = []
    with gf.name_scope("sgd"):
        for p, g in zip(params, grads):
            v = gf.variable(np.zeros(p.shape, p.dtype), name="velocity")
            v_new = momentum * v - lr * g
            updates += [(v, v_new), (p, p + v_new)]
    return updates


def trainable(outputs):
    return [s for s in gf.graph.sources(outputs) if isinstance(s, gf.Variable) and s.trainable]


def small_model(seed=0):
    """``(x, y, loss)``: a one-layer sigmoid classifier with a squared-error loss."""
    rng = np.random.default_rng(seed)
    x = gf.placeholder((None, 4), name="x")
    y = gf.placeholder((None, 3), name="y")
    p = dense(x, 3, "dense", rng, gf.sigmoid)
    with gf.name_scope("loss"):
        loss = gf.mean(gf.square(p - y))
    return x, y, loss


def vgg_like(input_shape=(28, 28, 1), classes=10, widths=(32, 64), hidden=256, seed=0):
    """``(x, labels, loss)``: the seed note's CNN — per block two 3×3 convs, 2×2 max-pool
    and dropout; then dense + dropout + dense, softmax cross-entropy."""
    rng = np.random.default_rng(seed)
    x = gf.placeholder((None, *input_shape), name="images")
    labels = gf.placeholder((None, classes), name="labels")
    h = x
    for i, width in enumerate(widths):
        h = conv(h, width, f"conv{i + 1}_1", rng)
        h = conv(h, width, f"conv{i + 1}_2", rng)
        with gf.name_scope(f"pool{i + 1}"):
            h = gf.nn.dropout(gf.nn.max_pool2d(h), 0.25, seed=seed + i)
    with gf.name_scope("flatten"):
        h = gf.reshape(h, (-1, int(np.prod(h.shape[1:]))))
    h = dense(h, hidden, "fc1", rng, gf.relu)
    with gf.name_scope("drop"):
        h = gf.nn.dropout(h, 0.5, seed=seed + 10)
    logits = dense(h, classes, "logits", rng)
    with gf.name_scope("loss"):
        loss = gf.mean(gf.nn.categorical_crossentropy(labels, logits, from_logits=True))
    return x, labels, loss


def training_function(inputs, loss, optimize):
    return gf.function(inputs, loss, updates=sgd(loss, trainable([loss])), optimize=optimize)


def main(out):
    os.makedirs(out, exist_ok=True)
    x, y, loss = small_model()
    gf.viz.to_svg(loss, os.path.join(out, "small.svg"))
    train = training_function([x, y], loss, "O2")
    gf.viz.to_svg(train, os.path.join(out, "small_train.svg"))
    gf.viz.to_svg(train, os.path.join(out, "small_train_O2.svg"), optimized=True)

    images, labels, cnn_loss = vgg_like()
    cnn_train = training_function([images, labels], cnn_loss, "O2")
    t0 = time.perf_counter()
    gf.viz.to_svg(cnn_train, os.path.join(out, "cnn_layers.svg"), collapse=1)
    gf.viz.to_svg(cnn_loss, os.path.join(out, "cnn_forward.svg"), hide_gradients=True)
    gf.viz.to_svg(cnn_train, os.path.join(out, "cnn_train_O2.svg"), optimized=True, collapse=["grad", "sgd"])
    with open(os.path.join(out, "cnn_train.txt"), "w", encoding="utf-8") as f:
        gf.viz.dprint(cnn_train, file=f, optimized=True)
    print(f"wrote 6 SVGs and a text tree to {out} ({time.perf_counter() - t0:.1f} s for the CNN pictures; "
          f"training step: {len(cnn_train.program.schedule)} kernels at O2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out", help="output directory (default ./out)")
    main(parser.parse_args().out)
