"""Without Graphviz's ``dot`` (or the ``graphviz`` package), rendering fails with one
precise error; DOT text and the text tree keep working."""
from __future__ import annotations

import sys

import pytest

import graphflow as gf
from viz_helpers import dense_graph


@pytest.fixture
def no_dot_on_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` anywhere


def test_missing_dot_program_names_the_piece_and_the_installs(no_dot_on_path):
    _, _, loss = dense_graph()
    with pytest.raises(gf.viz.GraphvizNotFoundError) as err:
        gf.viz.to_svg(loss)
    msg = str(err.value)
    assert isinstance(err.value, RuntimeError)
    assert "Graphviz's `dot` program" in msg and "not found on PATH" in msg
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install graphviz"):
        assert hint in msg
    assert gf.viz.to_dot(loss).source.startswith("digraph graphflow {")
    assert gf.viz.dformat(loss).startswith("mean axis=(0, 1) [id A] () float32")


def test_dot_vanishing_between_check_and_run_gives_the_same_error(no_dot_on_path, monkeypatch):
    import graphflow.viz.render as render
    monkeypatch.setattr(render.shutil, "which", lambda name: "/usr/bin/dot")  # passes the check
    _, _, loss = dense_graph()
    with pytest.raises(gf.viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        gf.viz.to_svg(loss)


def test_missing_python_package_names_pip(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now fails
    _, _, loss = dense_graph()
    with pytest.raises(gf.viz.GraphvizNotFoundError, match="pip install graphviz"):
        gf.viz.to_dot(loss)
    with pytest.raises(gf.viz.GraphvizNotFoundError, match="Python package `graphviz`"):
        gf.viz.to_svg(loss)
    text = gf.viz.dprint(loss)
    assert capsys.readouterr().out == text and "relu [id B]" in text
