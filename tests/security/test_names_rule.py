"""Issue 18, names: one rule for every name that reaches a file, a picture or an HDF5 path,
checked when the name is given; DOT text escaped everywhere (cluster labels included);
no link attribute built from any text; item 7's layer names either refused when given or
saved and loaded back."""
from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import graphflow as gf
from graphflow.graph.sources import Placeholder
from graphflow.graph.types import TensorType
from graphflow.keras.layers import Dense
from graphflow.keras.models import Sequential, load_model

INJECTION = '<a> URL="javascript:alert(1)" <b>/w'
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")


def _op_of(fn):
    """The Op behind ``fn`` (ops take a ``name`` when called as ``Op()(x, name=...)``)."""
    return fn(gf.placeholder((2,))).node.op


def _made(make):
    try:
        make()
    except gf.NameRuleError as err:
        return err
    return None


@pytest.mark.parametrize("make, what", [
    (lambda n: gf.placeholder((2,), name=n), "placeholder name"),
    (lambda n: gf.variable(np.zeros(2, "f4"), name=n), "variable name"),
    (lambda n: gf.constant(np.zeros(2, "f4"), name=n), "constant name"),
    (lambda n: _op_of(gf.exp)(gf.placeholder((2,)), name=n), "exp name"),
    (lambda n: gf.name_scope(n).__enter__(), "scope name"),
    (lambda n: Dense(2, name=n), "layer name"),
    (lambda n: Sequential(name=n), "layer name"),
])
def test_every_way_to_give_a_name_applies_the_rule(make, what):
    err = _made(lambda: make(INJECTION))
    assert err is not None and what in str(err) and "javascript" in str(err)
    assert isinstance(err, ValueError)  # as name_scope's own error always was


@pytest.mark.parametrize("name, why", [
    ("/", "'/'"), (".", "starts with '.'"), ("a/b", "'/'"), ("a\0b", "NUL"), ("x" * 70_000, "70000 characters"),
    ("a b", "space"), ("-x", "starts with '-'"), ("é", "'é'"), ("a\\b", "backslash"),
])
def test_item_7_names_that_cannot_round_trip_are_refused_when_given(name, why):
    err = _made(lambda: Dense(2, name=name))
    assert err is not None and why in str(err)


def test_the_rule_accepts_what_keras_and_graphflow_generate():
    for name in ("dense_1", "conv2d", "tf.math.add", "input_1", "batch_normalization_12", "_private", "1",
                 "a-b", "x" * 255, "sequential"):
        assert gf.check_name(name) == name
    assert gf.check_path("block1/dense_1/kernel") == "block1/dense_1/kernel"
    assert len(gf.derived_name("x" * 255, "_input")) == 255


@pytest.mark.parametrize("name", ["top_level_model_weights", "optimizer_weights", "model_weights", "layers",
                                  "vars", "layer_names", "a.b", "x" * 255])
def test_item_7_names_the_rule_accepts_save_and_load_back(tmp_path, name):
    def build():
        model = Sequential([Dense(3, input_shape=(4,), name=name), Dense(2, name="out")])
        model.compile("adam", "mse")
        return model
    model = build()
    model.fit(np.ones((4, 4), "f4"), np.ones((4, 2), "f4"), verbose=0)
    path = str(tmp_path / "m.h5")
    model.save(path)
    again = load_model(path)
    assert [layer.name for layer in again.layers] == [name, "out"]
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.save_weights(path)
    fresh = build()
    fresh.load_weights(path)
    fresh.load_weights(path, by_name=True)
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _svg_links(svg):
    root = ET.fromstring(svg)  # well-formed XML, whatever the names were
    return [(el.tag, k, v) for el in root.iter() for k, v in el.attrib.items() if k.endswith("href")]


@needs_dot
def test_the_injection_yields_no_link_even_past_the_rule():
    """Escaping holds on its own: a source made without the public constructor (so its
    name skipped the rule) still draws as text, in its box and as a cluster label."""
    for name in (INJECTION, '<a href="javascript:x">/y', 'x\\" URL="javascript:y/z', "a\\N\\G/<b>"):
        x = Placeholder(TensorType("float32", (2,)), name)
        y = x * 2
        dot = gf.viz.to_dot(y).source
        assert 'URL="' not in dot.replace('\\"', "")  # only as escaped text inside a quoted label
        svg = gf.viz.to_svg(y)
        assert _svg_links(svg) == [] and "xlink:href" not in svg
        assert "xlink:href" not in y._repr_svg_()


def test_dot_text_is_never_an_html_label():
    x = Placeholder(TensorType("float32", (2,)), "<b>bold<-b>/<i>x<-i>")
    source = gf.viz.to_dot(x * 2, collapse=None).source
    assert "label=<" not in source and 'label="<b>bold<-b>"' in source


def test_an_empty_name_is_refused():
    assert "empty" in str(_made(lambda: gf.check_name("")))


@needs_dot
def test_plot_model_labels_are_text(tmp_path):
    from graphflow.keras.utils import plot_model
    model = Sequential([Dense(2, input_shape=(3,), name="d")])
    model.layers[0]._name = '<a href="javascript:x">'  # past the rule, as a hostile subclass could
    plot_model(model, to_file=str(tmp_path / "m.svg"))
    assert _svg_links((tmp_path / "m.svg").read_text()) == []


def test_layer_names_are_checked_when_set_later():
    layer = Dense(2)
    with pytest.raises(gf.NameRuleError, match="layer name"):
        layer.name = "a/b"


def test_a_loaded_config_with_a_hostile_layer_name_is_refused(tmp_path):
    from graphflow.keras.models import model_from_json
    model = Sequential([Dense(2, input_shape=(3,), name="d")])
    text = model.to_json().replace('"d"', '"' + INJECTION.replace('"', '\\"') + '"')
    with pytest.raises(ValueError, match="layer name"):
        model_from_json(text)


def test_file_names_the_rule_allows_are_file_names(tmp_path):
    name = gf.check_name("a" * 251 + ".h5")
    model = Sequential([Dense(2, input_shape=(3,))])
    model.save(str(tmp_path / name))
    assert os.path.exists(tmp_path / name)
