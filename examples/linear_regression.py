#!/usr/bin/env python3
"""Linear regression the Theano way: placeholders, shared variables, gf.grad and a
compiled training step whose ``updates`` move the weights.

Data: y = x · w_true + b_true + noise. The loss printed every few steps falls, and the
learned weights end near the true ones.

    .venv/bin/python examples/linear_regression.py             # 200 steps
    .venv/bin/python examples/linear_regression.py --steps 20
"""
import argparse

import numpy as np

import graphflow as gf


def make_data(rng, n, w_true, b_true, noise=0.1):
    x = rng.standard_normal((n, len(w_true))).astype(np.float32)
    y = (x @ w_true + b_true + noise * rng.standard_normal(n)).astype(np.float32)
    return x, y


def build(n_features, lr):
    """The model, the loss and one compiled gradient-descent step."""
    x = gf.placeholder((None, n_features), name="x")      # a batch of any size
    y = gf.placeholder((None,), name="y")
    w = gf.variable(np.zeros(n_features, np.float32), name="w")
    b = gf.variable(np.float32(0.0), name="b")
    prediction = x @ w + b
    loss = gf.mean((prediction - y) ** 2)
    gw, gb = gf.grad(loss, [w, b])
    # every update is computed from the old values, then all are assigned together
    train = gf.function([x, y], loss, updates=[(w, w - lr * gw), (b, b - lr * gb)])
    predict = gf.function([x], prediction)
    return train, predict, w, b


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="gradient-descent steps")
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate")
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    w_true, b_true = np.array([2.0, -3.4, 1.7]), 4.2
    x_data, y_data = make_data(rng, args.samples, w_true, b_true)
    train, predict, w, b = build(len(w_true), args.lr)

    every = max(1, args.steps // 10)
    losses = []
    for step in range(1, args.steps + 1):
        losses.append(float(train(x_data, y_data)))
        if step % every == 0 or step == 1:
            print(f"step {step:4d}  loss {losses[-1]:.5f}")
    print(f"learned w = {np.round(w.get_value(), 3)}  (true {w_true})")
    print(f"learned b = {float(b.get_value()):.3f}  (true {b_true})")
    x_new = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], np.float32)
    print(f"predictions for {x_new.tolist()}: {np.round(predict(x_new), 3)}")
    print(f"loss fell from {losses[0]:.4f} to {losses[-1]:.4f}")
    return losses


if __name__ == "__main__":
    main()
