#!/usr/bin/env python3
"""Logistic regression, after the classic Theano tutorial ("A Real Example: Logistic
Regression"): the probability p = sigmoid(x · w + b), the cross-entropy cost with L2 weight
decay, its gradient with gf.grad, and one compiled function that both predicts and trains.

Data: two Gaussian clouds in 20 dimensions, labels 0 and 1. The printed cost falls and the
training accuracy climbs.

    .venv/bin/python examples/logistic_regression.py            # 300 steps
    .venv/bin/python examples/logistic_regression.py --steps 20
"""
import argparse

import numpy as np

import graphflow as gf


def make_data(rng, n, features):
    labels = rng.integers(0, 2, n)
    centres = np.where(labels[:, None] == 1, 0.3, -0.3)  # overlapping: ~90% is the best possible
    x = (centres + rng.standard_normal((n, features))).astype(np.float32)
    return x, labels.astype(np.float32)


def build(features, lr, decay):
    x = gf.placeholder((None, features), name="x")
    y = gf.placeholder((None,), name="y")
    w = gf.variable(np.zeros(features, np.float32), name="w")
    b = gf.variable(np.float32(0.0), name="b")

    p_1 = gf.sigmoid(x @ w + b)                        # probability that the label is 1
    prediction = p_1 > 0.5                             # the prediction, thresholded
    xent = -y * gf.log(p_1) - (1 - y) * gf.log(1 - p_1)
    cost = gf.mean(xent) + decay * gf.sum(w ** 2)      # the cost to minimise
    gw, gb = gf.grad(cost, [w, b])

    train = gf.function([x, y], [prediction, cost],
                        updates=[(w, w - lr * gw), (b, b - lr * gb)])
    predict = gf.function([x], prediction)
    return train, predict


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--features", type=int, default=20)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x_data, y_data = make_data(rng, args.samples, args.features)
    train, predict = build(args.features, args.lr, decay=0.01)

    every = max(1, args.steps // 10)
    costs = []
    for step in range(1, args.steps + 1):
        pred, cost = train(x_data, y_data)
        costs.append(float(cost))
        if step % every == 0 or step == 1:
            print(f"step {step:4d}  cost {cost:.4f}  train accuracy {np.mean(pred == y_data):.3f}")
    x_test, y_test = make_data(np.random.default_rng(1), args.samples, args.features)
    print(f"test accuracy {np.mean(predict(x_test) == y_test):.3f}")
    print(f"cost fell from {costs[0]:.4f} to {costs[-1]:.4f}")
    return costs


if __name__ == "__main__":
    main()
