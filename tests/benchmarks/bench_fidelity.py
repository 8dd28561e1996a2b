#!/usr/bin/env python3
"""What each convolution mode computes on real digits, against a float64 reference of
direct sums: the MNIST demo's first two layers (32 filters each, Glorot kernels, zero
biases as Keras initialises them) on 32 digits of the bundled sample. Prints, per mode,
how many conv2 outputs whose exact value is 0 come out non-zero, the share of ReLU
decisions that differ from float64, and the relative error of every gradient of
``sum(relu(conv(relu(conv(x, k1) + b1), k2) + b2) * r)``. A script, not collected:

    .venv/bin/python tests/benchmarks/bench_fidelity.py

(docs/performance.md, "Fidelity", quotes its output.)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

import graphflow as gf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "nn"))
import fidelity_reference as ref  # noqa: E402

MODES = [("exact (default)", "exact", "auto"), ("winograd-fast", "winograd-fast", "auto"),
         ("im2col", "exact", "im2col")]


def setup():
    data = np.load(Path(gf.__file__).parent / "keras" / "datasets" / "data" / "mnist_5k.npz")
    x = (data["x_train"][:32, :, :, None] / 255.0).astype(np.float32)
    rng = np.random.default_rng(0)

    def glorot(shape):
        lim = np.sqrt(6 / (9 * shape[2] + 9 * shape[3]))
        return rng.uniform(-lim, lim, shape).astype(np.float32)
    k1, k2 = glorot((3, 3, 1, 32)), glorot((3, 3, 32, 32))
    zeros = np.zeros(32, np.float32)
    r = rng.standard_normal((32, 24, 24, 32)).astype(np.float32)
    return x, k1, zeros, k2, zeros, r


def chain():
    x = gf.placeholder((None, 28, 28, 1))
    k1, k2 = gf.placeholder((3, 3, 1, 32)), gf.placeholder((3, 3, 32, 32))
    b1, b2, r = gf.placeholder((32,)), gf.placeholder((32,)), gf.placeholder((None, 24, 24, 32))
    z1 = gf.nn.conv2d(x, k1) + b1
    z2 = gf.nn.conv2d(gf.relu(z1), k2) + b2
    return gf.function([x, k1, b1, k2, b2, r], [z1, z2] + gf.grad(gf.sum(gf.relu(z2) * r), [k1, b1, k2, b2]))


def main():
    x, k1, b1, k2, b2, r = setup()
    w1, w2 = ref.forward(x, k1, b1, k2, b2, 0)
    want = ref.gradients(x, k1, b1, k2, b2, r, 0, w1, (w1 > 0, w2 > 0))
    zero = w2 == 0
    print(f"conv2: {int(zero.sum()):,} of {zero.size:,} outputs are exactly 0 in float64")
    print(f"{'mode':18s} {'non-zero where 0':>17s} {'ReLU mismatch':>14s}   gradient error k1 / b1 / k2 / b2")
    for name, precision, algo in MODES:
        os.environ["GRAPHFLOW_CONV"] = algo
        gf.set_conv_precision(precision)
        try:
            z1, z2, *grads = chain()(x, k1, b1, k2, b2, r)
        finally:
            gf.set_conv_precision(None)
            os.environ.pop("GRAPHFLOW_CONV")
        errs = " / ".join(f"{np.linalg.norm(g - w) / np.linalg.norm(w):.1e}" for g, w in zip(grads, want))
        mismatch = 100 * float(((z2 > 0) != (w2 > 0)).mean())
        print(f"{name:18s} {int(np.count_nonzero(z2[zero])):>17,d} {mismatch:>13.2f}%   {errs}")


if __name__ == "__main__":
    main()
