"""Equal graphs give byte-identical pictures, even built twice in one process (where the
process-wide name counters make the second placeholder ``x_1``)."""
from __future__ import annotations

import graphflow as gf
from viz_helpers import dense_graph, needs_dot, training_function


def test_dot_and_text_are_identical_for_equal_graphs():
    first, second = training_function("O2"), training_function("O2")
    assert second.inputs[0].name != "x"  # the process numbered it; the picture must not care
    for optimized in (False, True):
        assert gf.viz.to_dot(first, optimized=optimized).source == gf.viz.to_dot(second, optimized=optimized).source
        assert gf.viz.dformat(first, optimized=optimized) == gf.viz.dformat(second, optimized=optimized)
    assert gf.viz.to_dot(first, collapse=1).source == gf.viz.to_dot(second, collapse=1).source


@needs_dot
def test_svg_is_identical_for_equal_graphs():
    a, b = training_function("O0"), training_function("O0")
    svg = gf.viz.to_svg(a)
    assert svg == gf.viz.to_svg(b)
    assert 'id="s0"' in svg and ">x<" in svg and ">x_1<" not in svg


def test_different_graphs_draw_differently():
    _, _, two = dense_graph(2.0)
    _, _, three = dense_graph(3.0)
    assert gf.viz.to_dot(two).source != gf.viz.to_dot(three).source


def test_names_are_numbered_within_the_picture():
    a = gf.placeholder((2,), name="dup")
    b = gf.placeholder((2,), name="dup")
    c = gf.placeholder((2,), name="dup")
    labels = [it.label for it in gf.viz.build_picture(a * b + c).items.values() if it.kind == "placeholder"]
    assert labels == ["dup", "dup_1", "dup_2"]
    user = gf.placeholder((2,), name="layer_7")  # a suffix the user wrote stays
    assert [it.label for it in gf.viz.build_picture(user * 2).items.values() if it.kind == "placeholder"] == ["layer_7"]
