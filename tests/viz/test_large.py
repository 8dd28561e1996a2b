"""Big graphs switch to the fast layout: straight arrows, long arrows cut into reference
boxes, clusters one level deep; they still render to valid SVG quickly."""
from __future__ import annotations

import time

import numpy as np

import graphflow as gf
from viz_helpers import needs_dot, parse, svg_groups, texts


def residual_training_graph(blocks):
    x = gf.placeholder((None, 4), name="x")
    h, params = x, []
    for i in range(blocks):
        with gf.name_scope(f"block{i}"):
            w = gf.variable(np.full(4, 0.5, "float32"), name="w")
            h = gf.tanh(h * w) + h
        params.append(w)
    loss = gf.mean(gf.square(h))
    grads = gf.grad(loss, params)
    return [loss] + grads


def test_big_graphs_get_the_fast_layout():
    outputs = residual_training_graph(40)
    dot = gf.viz.to_dot(outputs)
    assert "splines=line" in dot.source and "xlabel=" in dot.source
    assert 'id=ref0' in dot.source and "↪ " in dot.source  # long arrows became references
    assert "cluster_grad/" not in dot.source  # nested scopes draw into their top-level cluster
    assert 'subgraph "cluster_block7"' in dot.source or "subgraph cluster_block7" in dot.source
    quality = gf.viz.to_dot(outputs, fast_layout=False, cluster_depth=None).source
    assert "splines=line" not in quality and "id=ref" not in quality and '"cluster_grad/block7"' in quality


def test_fast_layout_keeps_every_value_reachable():
    outputs = residual_training_graph(3)
    pic = gf.viz.build_picture(outputs)
    dot = gf.viz.to_dot(outputs, fast_layout=True).source
    for key, it in pic.items.items():
        assert f"\t{key} [" in dot or f"\t\t{key} [" in dot, key
    assert dot.count("->") >= len({(e.src, e.dst) for e in pic.edges})


@needs_dot
def test_big_graph_renders_to_valid_svg_in_seconds():
    outputs = residual_training_graph(40)
    t0 = time.perf_counter()
    root = parse(gf.viz.to_svg(outputs))
    assert time.perf_counter() - t0 < 20
    nodes = svg_groups(root, "node")
    assert len(nodes) > 300
    refs = [texts(g) for key, g in nodes.items() if key.startswith("ref")]
    assert refs and all(t[0].startswith(("↪ ", "update → ")) for t in refs)
