#!/usr/bin/env python3
"""How fast does gf.function compile? (a script, not collected by pytest)

1. The training step of a VGG-like CNN (conv-conv-pool blocks, dense head, softmax
   cross-entropy, gradients, SGD-with-momentum updates) at O0, O1 and O2.
2. A chain of N element-wise ops for growing N at O2: time per node should stay flat
   (compile time linear in graph size).

Run: ``.venv/bin/python tests/benchmarks/bench_compile.py`` (medians of several runs).
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import graphflow as gf


def dense(x, w):
    """x @ w (with the matmul op when it exists, else a broadcast product and a sum)."""
    if hasattr(gf, "matmul"):
        return gf.matmul(x, w)
    return gf.sum(gf.expand_dims(x, -1) * w, axis=1)


def vgg_step(filters=(16, 32, 64), classes=10, size=32):
    """(inputs, outputs, updates) of one SGD-momentum training step of a small VGG."""
    rng = np.random.default_rng(0)
    x = gf.placeholder((None, size, size, 3), name="images")
    y = gf.placeholder((None, classes), name="labels")
    params, h, c_in = [], x, 3
    for i, c in enumerate(filters):
        with gf.name_scope(f"block{i + 1}"):
            for j in range(2):
                k = gf.variable(rng.normal(0, 0.1, (3, 3, c_in, c)).astype("float32"), name="kernel")
                b = gf.variable(np.zeros(c, "float32"), name="bias")
                h = gf.relu(gf.nn.bias_add(gf.nn.conv2d(h, k, padding="same"), b))
                params += [k, b]
                c_in = c
            h = gf.nn.max_pool2d(h)
    side = size // 2 ** len(filters)
    h = gf.reshape(h, (-1, side * side * c_in))
    for units in (64, classes):
        with gf.name_scope(f"dense{units}"):
            w = gf.variable(rng.normal(0, 0.05, (h.shape[1], units)).astype("float32"), name="kernel")
            b = gf.variable(np.zeros(units, "float32"), name="bias")
            h = dense(h, w) + b
            h = gf.relu(h) if units != classes else gf.nn.softmax(h)
            params += [w, b]
    loss = gf.mean(gf.nn.categorical_crossentropy(y, h))
    grads = gf.grad(loss, params)
    updates = []
    for p, g in zip(params, grads):
        v = gf.variable(np.zeros(p.shape, "float32"), name="velocity", trainable=False)
        v_new = 0.9 * v - 0.01 * g
        updates += [(v, v_new), (p, p + v_new)]
    return [x, y], [loss], updates


def chain(n):
    x = gf.placeholder((None, 8), name="x")
    h = x
    ops = (lambda t: t * 1.5, lambda t: t + 0.5, gf.tanh, lambda t: gf.maximum(t, 0.1), gf.exp)
    for i in range(n):
        h = ops[i % len(ops)](h)
    return [x], [h], None


def median_time(build, level, repeats):
    times, nodes = [], 0
    for _ in range(repeats):
        inputs, outputs, updates = build()
        t0 = time.perf_counter()
        f = gf.function(inputs, outputs, updates=updates, optimize=level)
        times.append(time.perf_counter() - t0)
        nodes = f.program.report.passes[0].nodes_before if f.program.report.passes else 0
    return statistics.median(times), nodes, f


def main(repeats=5):
    print("VGG-like training step (forward + gradients + momentum updates):")
    base = None
    for level in ("O0", "O1", "O2"):
        t, nodes, f = median_time(vgg_step, level, repeats)
        base = base or t
        print(f"  {level}: {1e3 * t:7.1f} ms  ({nodes} nodes in, {len(f.program.schedule)} kernels out; "
              f"{t / base:.1f}x O0)")
    print("  O2 report:")
    print("    " + f.program.report.format().replace("\n", "\n    "))
    print(f"\nchain of element-wise ops at O2 (linear compile time: ms/1k nodes stays flat):")
    first = None
    for n in (1000, 2000, 5000, 10000):
        t, nodes, _ = median_time(lambda: chain(n), "O2", max(1, repeats // 2))
        per_k = 1e3 * t / (nodes / 1000)
        first = first or per_k
        print(f"  {nodes:6d} nodes: {1e3 * t:8.1f} ms  ({per_k:.1f} ms per 1k nodes, {per_k / first:.2f}x the 1k rate)")


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
