"""``collapse``: scopes drawn as one box with their inputs and outputs."""
from __future__ import annotations

import pytest

import graphflow as gf
from viz_helpers import cluster_body, needs_dot, nested_graph, parse, svg_groups, texts, title, training_function


@needs_dot
def test_collapse_depth_one_draws_each_top_level_scope_as_a_box():
    root = parse(gf.viz.to_svg(nested_graph(), collapse=1))
    nodes = svg_groups(root, "node")
    assert set(nodes) == {"s0", "scope_block1", "scope_block2", "out0"}
    assert texts(nodes["scope_block1"]) == ["block1", "mul · add · tanh", "3 ops"]
    assert texts(nodes["scope_block2"]) == ["block2", "exp · sum", "2 ops"]
    edges = {title(g): texts(g) for g in svg_groups(root, "edge").values()}
    assert edges == {"s0->scope_block1": ["(?, 4) f32"], "scope_block1->scope_block2": ["(?, 4) f32"],
                     "scope_block2->out0": ["(?,) f32"]}
    assert svg_groups(root, "cluster") == {}


def test_collapse_a_named_nested_scope_keeps_its_parent_cluster():
    dot = gf.viz.to_dot(nested_graph(), collapse=["block1/conv"]).source
    body = cluster_body(dot, "block1")
    assert '"scope_block1/conv" [' in body and "tanh" in body
    assert "cluster_block1/conv" not in dot
    assert '"scope_block1/conv" -> n' in dot  # the box's output feeds tanh
    assert cluster_body(gf.viz.to_dot(nested_graph(), collapse=2).source, "block1").count("scope_block1/") == 4


def test_collapse_counts_variables_and_merges_parallel_arrows():
    f = training_function("O0")
    dot = gf.viz.to_dot(f, collapse=1).source
    assert 'label="dense\nmul · add · relu\n3 ops, 1 variable"' in dot
    assert dot.count("scope_dense -> scope_grad") == 1  # several values, one arrow
    assert 'scope_dense -> scope_grad [label="2 values"' in dot  # x and relu's output (its gradient reads y)


def test_collapse_rejects_unknown_scopes_and_bad_depths():
    y = nested_graph()
    with pytest.raises(ValueError, match=r"no scope named 'blok1'.*block1, block1/act, block1/conv, block2"):
        gf.viz.to_dot(y, collapse=["blok1"])
    with pytest.raises(ValueError, match="collapse depth must be >= 1"):
        gf.viz.to_dot(y, collapse=0)


def test_hidden_gradients_win_over_collapse():
    f = training_function("O0")
    dot = gf.viz.to_dot(f, collapse=1, hide_gradients=True).source
    assert "grad_hidden [" in dot and "scope_grad" not in dot and "scope_dense [" in dot
