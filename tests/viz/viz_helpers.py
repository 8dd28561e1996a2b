"""Small graphs the visualisation tests draw (built fresh per call: equal graphs built
twice must draw identically, which the determinism tests rely on), and SVG/DOT readers."""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import graphflow as gf

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's `dot` program is not installed")


def dense_graph(const=2.0):
    """``mean(relu(x * w + const))`` with ``w`` and the ops in scope ``dense``."""
    x = gf.placeholder((None, 3), name="x")
    with gf.name_scope("dense"):
        w = gf.variable(np.ones(3, "float32"), name="w")
        y = gf.relu(x * w + const)
    return x, w, gf.mean(y)


def training_function(optimize="O0", const=2.0):
    """``dense_graph`` trained by one SGD step: gradients in scope ``grad``, an update of ``w``."""
    x, w, loss = dense_graph(const)
    g = gf.grad(loss, w)
    return gf.function([x], loss, updates={w: w - 0.1 * g}, optimize=optimize)


def nested_graph():
    """Scopes ``block1/conv``, ``block1/act`` and ``block2``; returns the output."""
    x = gf.placeholder((None, 4), name="x")
    with gf.name_scope("block1"):
        with gf.name_scope("conv"):
            h = x * 3 + 1
        with gf.name_scope("act"):
            h = gf.tanh(h)
    with gf.name_scope("block2"):
        h = gf.sum(gf.exp(h), axis=1)
    return h


def parse(svg: str):
    return ET.fromstring(svg)


def svg_groups(root, cls: str) -> dict:
    """``{id: <g>}`` of the SVG groups of a class (``node``, ``edge``, ``cluster``)."""
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("class") == cls}


def texts(element) -> list:
    return [t.text for t in element.iter(f"{SVG}text")]


def title(element) -> str:
    return element.find(f"{SVG}title").text


def fill(element) -> str:
    """The fill of a node's first shape (polygon, path or ellipse)."""
    return next((s.get("fill") for s in shapes(element)), None)


def shapes(element) -> list:
    """The drawn shapes of a node (Graphviz nests them in a link when there is a tooltip)."""
    return [e for e in element.iter() if e.tag in (f"{SVG}polygon", f"{SVG}path", f"{SVG}ellipse")]


def cluster_body(source: str, scope: str) -> str:
    """The DOT text inside ``subgraph cluster_<scope> { ... }`` (nested blocks included)."""
    for head in (f"subgraph cluster_{scope} {{", f'subgraph "cluster_{scope}" {{'):
        start = source.find(head)
        if start >= 0:
            break
    else:
        raise AssertionError(f"no cluster {scope!r} in:\n{source}")
    depth, i = 0, start + len(head) - 1
    for j in range(i, len(source)):
        depth += {"{": 1, "}": -1}.get(source[j], 0)
        if depth == 0:
            return source[i + 1:j]
    raise AssertionError("unbalanced braces")
