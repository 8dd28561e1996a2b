"""``gf.viz``: pictures of graphs — SVG through Graphviz, DOT text, and a text tree.

    >>> gf.viz.to_svg(loss, "loss.svg")                      # writes and returns SVG text
    >>> gf.viz.to_svg(train_fn, "run.svg", optimized=True, collapse=1)
    >>> gf.viz.dprint(loss)                                   # no Graphviz needed

Name scopes are nested clusters (a layer is one cluster); ``collapse`` draws scopes as
single boxes; gradient ops (made in scope ``grad``) are drawn dashed orange and can be
hidden. Equal graphs give byte-identical output. See docs/visualisation.md.
"""
from ..graph import set_svg_renderer
from .dot import to_dot
from .render import GraphvizNotFoundError, to_svg
from .text import dformat, dprint
from .view import Picture, build_picture

set_svg_renderer(to_svg)  # Tensor._repr_svg_ / Function._repr_svg_ in notebooks

__all__ = ["GraphvizNotFoundError", "Picture", "build_picture", "dformat", "dprint", "to_dot", "to_svg"]
