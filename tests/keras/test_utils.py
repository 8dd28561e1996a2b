"""graphflow.keras.utils: to_categorical and plot_model / model_to_dot."""
import shutil

import numpy as np
import pytest

from graphflow.keras import utils
from graphflow.keras.utils import np_utils, to_categorical, vis_utils


# ---------------------------------------------------------------- to_categorical

def test_to_categorical_matches_keras2():
    labels = np.random.default_rng(0).integers(0, 10, size=(20, 1))
    onehot = to_categorical(labels, num_classes=10)
    assert onehot.shape == (20, 10) and onehot.dtype == np.float64
    np.testing.assert_array_equal(onehot.argmax(1), labels.ravel())
    np.testing.assert_array_equal(onehot.sum(1), 1)
    assert to_categorical([2, 0]).tolist() == [[0, 0, 1], [1, 0, 0]]   # C = max + 1
    assert to_categorical(np.array([[1, 2], [0, 1]])).shape == (4, 3)  # flattened, as Keras 2
    assert np_utils.to_categorical is utils.to_categorical


def test_to_categorical_refuses_labels_out_of_range():
    with pytest.raises(IndexError, match="3"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(IndexError, match="-1"):
        to_categorical([0, -1], num_classes=3)
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([])
    assert to_categorical([], num_classes=2).shape == (0, 2)


def test_normalize_gives_unit_rows():
    x = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(np.linalg.norm(np_utils.normalize(x), axis=1), 1)


# ---------------------------------------------------------------- plot_model / model_to_dot

def layer_graph(dot):
    """({node id: label}, {(from label, to label)}) parsed back from the DOT body."""
    labels, edges = {}, set()
    for line in dot.body:
        line = line.strip()
        if "->" in line:
            a, b = (s.strip() for s in line.split("->"))
            edges.add((a, b))
        elif "[label=" in line:
            node_id, rest = line.split(" ", 1)
            labels[node_id] = rest.split('label="', 1)[1].split("\n")[0].rstrip('"]')
    return labels, {(labels[a], labels[b]) for a, b in edges}


@pytest.fixture
def seq_model():
    from graphflow.keras.layers import Conv2D, Dense, Flatten
    from graphflow.keras.models import Sequential
    return Sequential([Conv2D(2, (3, 3), input_shape=(6, 6, 1), name="c"), Flatten(name="f"),
                       Dense(3, name="d")])


def test_model_to_dot_draws_sequential_layers_with_their_input(seq_model):
    labels, edges = layer_graph(vis_utils.model_to_dot(seq_model))
    assert sorted(labels.values()) == ["c: Conv2D", "c_input: InputLayer", "d: Dense", "f: Flatten"]
    assert edges == {("c_input: InputLayer", "c: Conv2D"), ("c: Conv2D", "f: Flatten"),
                     ("f: Flatten", "d: Dense")}
    shaped = utils.model_to_dot(seq_model, show_shapes=True, show_layer_names=False, rankdir="LR").source
    assert "rankdir=LR" in shaped and "shape=record" in shaped
    assert "Conv2D\n|{input:|output:}|{{(None, 6, 6, 1)}|{(None, 4, 4, 2)}}" in shaped
    assert "c: Conv2D" not in shaped
    with pytest.raises(ValueError, match="rankdir"):
        utils.model_to_dot(seq_model, rankdir="UP")


def test_model_to_dot_follows_functional_branches():
    from graphflow.keras.layers import Dense, Input, concatenate
    from graphflow.keras.models import Model
    a, b = Input(shape=(4,), name="a"), Input(shape=(5,), name="b")
    merged = concatenate([Dense(3, name="ha")(a), Dense(3, name="hb")(b)], name="cat")
    model = Model([a, b], Dense(1, name="out")(merged))
    _, edges = layer_graph(utils.model_to_dot(model))
    assert edges == {("a: InputLayer", "ha: Dense"), ("b: InputLayer", "hb: Dense"),
                     ("ha: Dense", "cat: Concatenate"), ("hb: Dense", "cat: Concatenate"),
                     ("cat: Concatenate", "out: Dense")}


def test_plot_model_writes_dot_text_without_graphviz(seq_model, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` program reachable
    out = tmp_path / "model.dot"
    dot = utils.plot_model(seq_model, to_file=str(out))
    assert out.read_text() == dot.source and "digraph" in dot.source
    with pytest.raises(RuntimeError, match="Graphviz"):
        utils.plot_model(seq_model, to_file=str(tmp_path / "model.svg"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
@pytest.mark.parametrize("name, magic", [("model.svg", b"<svg"), ("model.png", b"\x89PNG")])
def test_plot_model_renders_with_dot(seq_model, tmp_path, name, magic):
    utils.plot_model(seq_model, to_file=str(tmp_path / name), show_shapes=True)
    content = (tmp_path / name).read_bytes()
    assert magic in content[:400]
    if name.endswith(".svg"):
        assert b"c_input: InputLayer" in content and b"(None, 4, 4, 2)" in content


@pytest.mark.parametrize("name", ["model.dot", "model.svg"])
def test_an_interrupted_plot_model_leaves_the_previous_picture_whole(seq_model, tmp_path, monkeypatch, name):
    if name.endswith(".svg") and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    out = tmp_path / name
    out.write_bytes(b"the previous picture")

    def interrupted(path):
        raise KeyboardInterrupt
    monkeypatch.setattr("graphflow.utils.files._fsync_path", interrupted)  # after the new bytes are written
    with pytest.raises(KeyboardInterrupt):
        utils.plot_model(seq_model, to_file=str(out))
    assert out.read_bytes() == b"the previous picture" and sorted(p.name for p in tmp_path.iterdir()) == [name]
