"""SVG and DOT pictures: nodes, clusters, labels, styles, gradients, updates, errors."""
from __future__ import annotations

import os

import numpy as np
import pytest

import graphflow as gf
from viz_helpers import (cluster_body, dense_graph, fill, needs_dot, parse, shapes, svg_groups, texts, title,
                      training_function)

pytestmark = needs_dot


def test_svg_parses_and_holds_nodes_clusters_and_labels():
    _, _, loss = dense_graph()
    root = parse(gf.viz.to_svg(loss))
    nodes = svg_groups(root, "node")
    assert set(nodes) == {"s0", "s1", "n0", "n1", "n2", "n3", "n1c1", "out0"}
    assert all(title(g) == key for key, g in nodes.items())
    assert texts(nodes["s0"]) == ["x", "(?, 3) f32"]
    assert texts(nodes["s1"]) == ["w", "(3,) f32"]
    assert [texts(nodes[k]) for k in ("n0", "n1", "n2", "n3")] == [["mul"], ["add"], ["relu"], ["mean axis=(0, 1)"]]
    assert texts(nodes["n1c1"]) == ["2"]  # a scalar constant is written where it is used
    clusters = svg_groups(root, "cluster")
    assert list(clusters) == ["cluster_dense"] and texts(clusters["cluster_dense"]) == ["dense"]
    edges = {title(g): texts(g) for g in svg_groups(root, "edge").values()}
    assert edges["s0->n0"] == ["(?, 3) f32"] and edges["n2->n3"] == ["(?, 3) f32"]
    assert edges["n3->out0"] == ["() f32"]
    assert edges["n1c1->n1"] == []  # the literal says it already


def test_scopes_are_clusters_holding_their_ops_and_variables():
    _, _, loss = dense_graph()
    body = cluster_body(gf.viz.to_dot(loss).source, "dense")
    for key in ("s1", "n0", "n1", "n2", "n1c1"):
        assert f"\t{key} [" in body
    for key in ("s0", "n3", "out0"):
        assert f"\t{key} [" not in body


def test_placeholders_variables_constants_and_ops_look_different():
    x = gf.placeholder((None, 3), name="x")
    w = gf.variable(np.ones(3, "float32"), name="w")
    c = gf.constant(np.arange(6, dtype="float32").reshape(2, 3), name="table")
    y = gf.sum(x * w, axis=0) + gf.sum(c, axis=0)
    root = parse(gf.viz.to_svg(y))
    nodes = svg_groups(root, "node")
    kinds = {texts(g)[0]: g for g in nodes.values()}
    fills = {name: fill(kinds[name]) for name in ("x", "w", "table", "mul")}
    assert len(set(fills.values())) == 4, fills
    drawn = {name: [e.tag.split("}")[1] for e in shapes(kinds[name])] for name in ("x", "w")}
    assert drawn["x"] == ["polygon"] and drawn["w"] == ["path", "path"]  # a house and a cylinder
    assert texts(kinds["table"]) == ["table", "(2, 3) f32"]  # a constant too big to write out


def test_conv_label_shows_the_kernel_size():
    x = gf.placeholder((None, 8, 8, 2), name="images")
    k = gf.variable(np.zeros((3, 5, 2, 4), "float32"), name="kernel")
    y = gf.nn.conv2d(x, k, strides=(2, 2), padding="same")
    labels = [t for g in svg_groups(parse(gf.viz.to_svg(y)), "node").values() for t in texts(g)]
    assert any(t.startswith("conv2d 3×5 same") for t in labels), labels
    edges = [t for g in svg_groups(parse(gf.viz.to_svg(y)), "edge").values() for t in texts(g)]
    assert "(?, 4, 4, 4) f32" in edges


def test_function_as_written_and_as_run():
    f = training_function("O2")
    written = {texts(g)[0] for g in svg_groups(parse(gf.viz.to_svg(f)), "node").values()}
    run = svg_groups(parse(gf.viz.to_svg(f, optimized=True)), "node")
    assert {"mul", "add", "relu"} <= written and not any(t.startswith("fused") for t in written)
    fused = [texts(g) for g in run.values() if texts(g)[0].startswith("fused")]
    assert fused, "the O2 program fuses element-wise chains"
    # a fused box lists what it fused, one step per line
    assert any(lines[1:3] == ["t0 = mul(x0, x1)", "t1 = add(t0, x2)"] for lines in fused), fused
    svg = gf.viz.to_svg(f, optimized=True)
    assert "function: as run (O2)" in texts(parse(svg)) and "function: as written" in texts(parse(gf.viz.to_svg(f)))


def test_gradients_are_drawn_apart_and_can_be_hidden():
    f = training_function("O0")
    dot = gf.viz.to_dot(f).source
    grad_body = cluster_body(dot, "grad")
    assert "dashed" in grad_body and "#d9480f" in grad_body
    assert 'subgraph "cluster_grad/dense"' in grad_body  # gradients mirror the forward scopes
    root = parse(gf.viz.to_svg(f, hide_gradients=True))
    nodes = svg_groups(root, "node")
    assert "grad_hidden" in nodes and texts(nodes["grad_hidden"])[0] == "gradients"
    assert texts(nodes["grad_hidden"])[1].endswith("ops hidden")
    assert not any(c.startswith("cluster_grad") for c in svg_groups(root, "cluster"))
    assert {"relu", "mul", "sub"} <= {texts(g)[0] for g in nodes.values()}


def test_gradient_nodes_live_in_the_grad_scope():
    _, w, loss = dense_graph()
    g = gf.grad(loss, w)
    assert g.node.scope == "grad/dense"
    with gf.name_scope("train"):
        x = gf.placeholder((None, 2), name="x")
        with gf.name_scope("layer"):
            y = gf.sum(gf.exp(x))
        gx = gf.grad(y, x)
    assert gx.node.scope == "train/grad/layer"
    assert not any("grad" in n.scope for n in gf.graph.toposort([y]))


def test_updates_are_dashed_arrows_into_their_variable():
    f = training_function("O0")
    pic = gf.viz.build_picture(f)
    (var, value), = pic.updates
    assert var is f.updates[0][0]
    edges = {title(g): g for g in svg_groups(parse(gf.viz.to_svg(f)), "edge").values()}
    update = edges[f"{pic.producer(var)}->{pic.producer(value)}"]  # drawn backwards (dir=back), head at w
    assert texts(update) == ["update"] and shapes(update)[0].get("stroke-dasharray") == "5,2"


def test_second_output_of_an_op_is_marked_on_its_arrow():
    x = gf.placeholder((None, 3), name="x")
    y = gf.nn.dropout(x, 0.5, seed=1)
    gx = gf.grad(gf.sum(y), x)  # the gradient reads the mask, dropout's output 1
    labels = [t for g in svg_groups(parse(gf.viz.to_svg(gx)), "edge").values() for t in texts(g)]
    assert "[1] (?, 3) f32" in labels


def test_in_place_candidates_of_the_memory_plan_are_red():
    f = training_function("O2")
    pic = gf.viz.build_picture(f, optimized=True)
    marked = [e for e in pic.edges if e.inplace]
    assert marked, "the O2 plan lets some element-wise op reuse an input buffer"
    dot = gf.viz.to_dot(f, optimized=True).source
    assert all(f"{e.src} -> {e.dst} [" in dot for e in marked) and "#c92a2a" in dot


def test_to_svg_writes_the_file_atomically(tmp_path):
    _, _, loss = dense_graph()
    path = tmp_path / "loss.svg"
    svg = gf.viz.to_svg(loss, path)
    assert path.read_text(encoding="utf-8") == svg
    assert sorted(os.listdir(tmp_path)) == ["loss.svg"]  # no temporary file left behind
    old = os.umask(0o022)
    try:
        gf.viz.to_svg(loss, tmp_path / "again.svg")
    finally:
        os.umask(old)
    assert (tmp_path / "again.svg").stat().st_mode & 0o777 == 0o644


def test_notebooks_get_svg_for_tensors_and_functions():
    _, _, loss = dense_graph()
    assert parse(loss._repr_svg_()).tag.endswith("svg")
    assert parse(training_function()._repr_svg_()).tag.endswith("svg")


def test_bad_targets_and_options_say_what_was_expected():
    _, _, loss = dense_graph()
    with pytest.raises(TypeError, match="a Tensor, a non-empty list of Tensors or a compiled Function"):
        gf.viz.to_dot(3)
    with pytest.raises(TypeError, match="got list"):
        gf.viz.to_dot([])
    with pytest.raises(ValueError, match="optimized=True draws the graph a compiled function runs"):
        gf.viz.to_dot(loss, optimized=True)
    with pytest.raises(ValueError, match="rankdir"):
        gf.viz.to_dot(loss, rankdir="up")
    with pytest.raises(ValueError, match="cluster_depth"):
        gf.viz.to_dot(loss, cluster_depth=-1)
