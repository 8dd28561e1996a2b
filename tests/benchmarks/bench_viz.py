#!/usr/bin/env python3
"""How long does a picture of a big graph take? (a script, not collected by pytest)

The training graph of a deep residual CNN (per block: conv2d 3×3 + bias + relu, plus a
skip connection; then gradients and SGD-with-momentum updates), as written, with every
block its own scope:

1. ~5,000 boxes (135 blocks): ``to_dot``, Graphviz's ``dot`` (fast layout, automatic at
   this size), ``dformat``, and the picture with every top-level scope collapsed.
2. ~290 boxes (6 blocks): the quality layout against the fast one, in the same run (the
   quality layout takes about a minute at 10 blocks and grows much faster than linearly).

Run: ``.venv/bin/python tests/benchmarks/bench_viz.py [blocks]`` (one run each; the
layout dominates and varies little).
"""
from __future__ import annotations

import sys
import time

import numpy as np

import graphflow as gf
from graphflow.viz.render import render_dot


def residual_cnn_training(blocks, seed=0):
    rng = np.random.default_rng(seed)
    x = gf.placeholder((None, 8, 8, 4), name="x")
    h, params = x, []
    for i in range(blocks):
        with gf.name_scope(f"block{i}"):
            k = gf.variable(rng.normal(0, 0.2, (3, 3, 4, 4)).astype("float32"), name="kernel")
            b = gf.variable(np.zeros(4, "float32"), name="bias")
            h = gf.relu(gf.nn.bias_add(gf.nn.conv2d(h, k, padding="same"), b)) + h * 0.5
        params += [k, b]
    loss = gf.mean(gf.square(h))
    updates = []
    with gf.name_scope("sgd"):
        for p, g in zip(params, gf.grad(loss, params)):
            v = gf.variable(np.zeros(p.shape, "float32"), name="velocity")
            v_new = 0.9 * v - 0.01 * g
            updates += [(v, v_new), (p, p + v_new)]
    return gf.function([x], loss, updates=updates, optimize="O0")


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(blocks=135):
    f = residual_cnn_training(blocks)
    pic = gf.viz.build_picture(f)
    boxes = sum(it.kind != "output" for it in pic.items.values())
    print(f"{blocks} blocks: {boxes} boxes ({sum(it.kind == 'op' for it in pic.items.values())} ops), "
          f"{len(pic.edges)} arrows")
    dot, t_dot = timed(lambda: gf.viz.to_dot(f))
    svg, t_svg = timed(lambda: render_dot(dot))
    _, t_text = timed(lambda: gf.viz.dformat(f))
    _, t_collapsed = timed(lambda: gf.viz.to_svg(f, collapse=1))
    print(f"  to_dot {t_dot:.2f} s, dot -Tsvg {t_svg:.2f} s ({len(svg) / 1e6:.1f} MB), "
          f"dformat {t_text:.2f} s, collapse=1 {t_collapsed:.2f} s")
    small = residual_cnn_training(6)
    _, t_fast = timed(lambda: gf.viz.to_svg(small, fast_layout=True))
    _, t_quality = timed(lambda: gf.viz.to_svg(small, fast_layout=False, cluster_depth=None))
    print(f"6 blocks: quality layout {t_quality:.2f} s, fast layout {t_fast:.2f} s "
          f"(quality / fast = {t_quality / t_fast:.0f}×)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 135)
