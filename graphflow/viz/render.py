"""``to_svg``: render a picture with Graphviz's ``dot`` program, and say precisely what is
missing when it cannot.

    >>> svg = gf.viz.to_svg(loss, "loss.svg")       # also returns the SVG text
"""
from __future__ import annotations

import shutil

from ..utils import write_text
from .dot import _graphviz, to_dot

INSTALL_HINT = ("Install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
                "(macOS), `conda install graphviz` (conda), or the installer from "
                "https://graphviz.org/download (Windows; then add its bin folder to PATH).")
FALLBACK_HINT = ("Without it, gf.viz.to_dot(...).source still gives the DOT text and "
                 "gf.viz.dprint(...) a text tree.")


class GraphvizNotFoundError(RuntimeError):
    """A piece of Graphviz that rendering needs is missing; the message names the piece
    and how to install it."""


def _missing_dot() -> GraphvizNotFoundError:
    return GraphvizNotFoundError(
        "graphflow.viz renders SVG with Graphviz's `dot` program, which was not found on PATH "
        f"(the Python package `graphviz` is installed; it does not include the program). "
        f"{INSTALL_HINT} {FALLBACK_HINT}")


def render_dot(dot) -> str:
    """SVG text for a ``graphviz.Digraph`` (runs ``dot -Tsvg``)."""
    graphviz = _graphviz()
    if shutil.which("dot") is None:
        raise _missing_dot()
    try:
        return dot.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise _missing_dot() from None
    except graphviz.CalledProcessError as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
        raise RuntimeError(f"Graphviz's `dot` failed to lay out the graph ({exc.returncode}): "
                           f"{(err or '').strip()[:500]}") from None


def to_svg(target, path=None, **options) -> str:
    """SVG text of ``target``'s graph (a tensor, a list, or a compiled function); also
    written to ``path`` when given. ``options`` are those of ``to_dot`` (``optimized``,
    ``collapse``, ``hide_gradients``, ``rankdir``, ``edge_labels``, ``fast_layout``).
    Raises ``GraphvizNotFoundError`` when Graphviz's ``dot`` is not installed.

    >>> svg = gf.viz.to_svg(train_fn, "train.svg", optimized=True, collapse=1)
    """
    svg = render_dot(to_dot(target, **options))
    if path is not None:
        write_text(path, svg, durable=False)
    return svg
