"""``to_dot``: a ``Picture`` as a Graphviz ``Digraph`` — name scopes as nested clusters,
collapsed scopes as single boxes, gradient sub-graphs drawn apart (or hidden).

The DOT text needs only the ``graphviz`` Python package; rendering it (``to_svg``)
needs Graphviz's ``dot`` program.

    >>> dot = gf.viz.to_dot(loss, collapse=1)      # one box per top-level scope
    >>> print(dot.source[:7])
    digraph
"""
from __future__ import annotations

import hashlib

from ..graph.names import is_valid_name
from . import labels as L
from .long_edges import cut_long_edges, layout_cost, ranks
from .view import GRAD_MARK, build_picture

HIDDEN_GRAD = "grad_hidden"
FAST_LAYOUT_SIZE = 800  # boxes + arrows; above it, trade layout polish for speed (see docs)
FAST_LAYOUT_COST = 5000  # or above this many ranks crossed by arrows (long_edges.layout_cost)
FAST_CLUSTER_DEPTH = 1
_FAST_ATTRS = {"splines": "line", "nslimit": "1", "nslimit1": "1", "mclimit": "0.1"}


def _graphviz():
    try:
        import graphviz
    except ImportError:
        from .render import GraphvizNotFoundError
        raise GraphvizNotFoundError(
            "graphflow.viz builds pictures with the Python package `graphviz`, which is not "
            "installed: pip install graphviz (or conda install python-graphviz). "
            "gf.viz.dprint(...) needs neither it nor Graphviz.") from None
    return graphviz


def _prefixes(scope: str):
    parts = scope.split("/") if scope else []
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _collapsed_scopes(pic, collapse) -> set:
    known = sorted({p for it in pic.items.values() for p in _prefixes(it.scope)})
    if collapse is None or collapse is False:
        return set()
    if isinstance(collapse, bool) or isinstance(collapse, int):
        depth = 1 if collapse is True else collapse
        if depth < 1:
            raise ValueError(f"collapse depth must be >= 1 (1 = top-level scopes), got {collapse}")
        return {p for p in known if p.count("/") == depth - 1}
    wanted = [collapse] if isinstance(collapse, str) else list(collapse)
    missing = [s for s in wanted if s not in known]
    if missing:
        shown = ", ".join(known[:20]) + (" …" if len(known) > 20 else "")
        raise ValueError(f"collapse: no scope named {', '.join(map(repr, missing))} in this graph; "
                         f"its scopes are: {shown or '(none)'}")
    return set(wanted)


class _Layout:
    """Where each item goes: drawn itself, folded into a scope box, or into the hidden
    gradient box; and which cluster each drawn box sits in."""

    def __init__(self, pic, collapsed: set, hide_gradients: bool):
        self.pic, self.rep, self.folded = pic, {}, {}
        for key, it in pic.items.items():
            if hide_gradients and it.grad:
                rep = HIDDEN_GRAD
            else:
                outer = next((p for p in _prefixes(it.scope) if p in collapsed), None)
                rep = f"scope_{outer}" if outer is not None else key
            self.rep[key] = rep
            if rep != key:
                self.folded.setdefault(rep, []).append(it)

    def cluster_of(self, rep: str) -> str:
        if rep == HIDDEN_GRAD:
            return ""
        if rep.startswith("scope_"):
            return rep[len("scope_"):].rpartition("/")[0]
        return self.pic.items[rep].scope


def _text(label: str, lines) -> str:
    return "\n".join([label, *lines])


# attributes whose value is free text (names, labels): escaped on the way out
_TEXT_ATTRS = ("label", "xlabel", "tooltip", "id")
# attributes that make Graphviz write a link (<a xlink:href>): never built here, from any text
_LINK_ATTRS = ("URL", "href", "labelURL", "labelhref", "edgeURL", "edgehref", "headURL", "headhref",
               "tailURL", "tailhref", "tooltipURL")


_MAX_TEXT = 2000  # Graphviz's parser refuses far longer strings (a 70,000-character name)


def _capped(text: str) -> str:
    """``text``, or its start plus a digest of the whole when it is too long for DOT."""
    if len(text) <= _MAX_TEXT:
        return text
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return f"{text[:_MAX_TEXT // 2]}…({len(text)} characters, {digest})"


def _escaped(attrs: dict) -> dict:
    """``attrs`` as DOT may carry them: free text is never an HTML-like label (Graphviz
    reads a value ``<...>`` as markup), its backslashes are literal (not Graphviz escapes
    such as ``\\N``), and no attribute builds a link. Names already pass the naming rule
    (``graphflow.graph.names``); this keeps op labels and anything else safe too."""
    graphviz = _graphviz()
    out = {}
    for key, value in attrs.items():
        if key in _LINK_ATTRS:
            raise ValueError(f"graphflow.viz never writes link attributes; got {key!r}")
        if key in _TEXT_ATTRS:
            value = graphviz.nohtml(_capped(str(value)).replace("\\", "\\\\"))
        out[key] = value
    return out


def _item_attrs(it) -> dict:
    if it.kind == "op":
        style = L.op_style(it.obj.op, it.grad)
    elif it.kind == "output":
        style = dict(L.OUTPUT_STYLE)
    else:
        style = dict(L.SOURCE_STYLE[it.kind])
    lines = [] if it.kind == "literal" else it.lines
    return {"label": _text(it.label, lines), "tooltip": it.tooltip, "id": it.key, **style}


def _box_attrs(rep: str, members: list) -> dict:
    ops = [it for it in members if it.kind == "op"]
    n_vars = sum(it.kind == "variable" for it in members)
    if rep == HIDDEN_GRAD:
        return {"label": f"gradients\n{len(ops)} ops hidden", "id": rep,
                "tooltip": "gradient sub-graph (hide_gradients=True)", **L.HIDDEN_GRAD_STYLE}
    scope = rep[len("scope_"):]
    kinds = list(dict.fromkeys(it.obj.op.op_name() for it in ops))
    summary = " · ".join(kinds[:4]) + (" …" if len(kinds) > 4 else "")
    count = f"{len(ops)} ops" + (f", {n_vars} variable{'s' if n_vars > 1 else ''}" if n_vars else "")
    style = dict(L.SCOPE_BOX_STYLE)
    if GRAD_MARK in scope.split("/"):
        style.update(style="dashed,filled", color=L.GRAD_COLOR, fillcolor="#fff4e6")
    lines = [scope.rpartition("/")[2]] + ([summary] if summary else []) + [count]
    return {"label": _text(lines[0], lines[1:]), "tooltip": f"scope {scope} (collapsed)",
            "id": rep, **style}


def _edge_attrs(pic, e, edge_labels: str) -> dict:
    src, dst = pic.items.get(e.src), pic.items.get(e.dst)
    if e.kind == "update":
        attrs = {**L.UPDATE_EDGE_STYLE, "tooltip": f"update := {e.label()}"}
        text = "update"
    else:
        grad = (src is not None and src.grad) or (dst is not None and dst.grad)
        attrs = dict(L.GRAD_EDGE_STYLE if grad else L.EDGE_STYLE)
        if e.inplace:
            attrs.update(L.INPLACE_EDGE_STYLE, tooltip=f"{e.label()} (its buffer may be reused in place)")
        text = e.label() if src is None or src.kind != "literal" else ""  # the literal says it
    if edge_labels and text:
        attrs[edge_labels] = text
    return attrs


def _graph_attrs(rankdir: str, title: str, fast: bool) -> dict:
    attrs = {"rankdir": rankdir, "fontname": L.FONT, "fontsize": "12", "nodesep": "0.25",
             "ranksep": "0.35", "newrank": "true", "labelloc": "t"}
    if title:
        attrs["label"] = title
    if fast:
        attrs.update(_FAST_ATTRS)
    return attrs


def _title(target, optimized: bool) -> str:
    if not hasattr(target, "program"):
        return ""
    name = getattr(target, "name", "function")
    level = getattr(target, "optimize", "")
    return f"{name}: as run ({level})" if optimized else f"{name}: as written"


def to_dot(target, optimized: bool = False, collapse=None, hide_gradients: bool = False,
           rankdir: str = "TB", edge_labels: bool = True, fast_layout=None, cluster_depth=None):
    """The graph behind ``target`` as a ``graphviz.Digraph`` (``.source`` is the DOT text).

    ``target``: a tensor, a list of tensors, or a compiled ``gf.function`` — then
    ``optimized=True`` draws the program that runs, ``False`` the graph as written
    (outputs plus update expressions). ``collapse``: a depth (``1`` = every top-level
    scope is one box) or a list of scope paths to draw as single boxes.
    ``hide_gradients`` folds every gradient op into one box. ``fast_layout`` (default:
    automatic above 800 boxes + arrows) trades layout polish for speed on big graphs:
    straight arrows, labels beside them, long arrows cut into reference boxes, and
    clusters nested ``cluster_depth`` deep (default: unlimited, 1 in fast layout —
    nested clusters are what makes ``dot`` slow on big graphs).

    >>> gf.viz.to_dot(train_fn, optimized=True, collapse=["conv_1", "grad"])
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    graphviz = _graphviz()
    pic = build_picture(target, optimized)
    layout = _Layout(pic, _collapsed_scopes(pic, collapse), hide_gradients)
    drawn = list(dict.fromkeys(layout.rep[k] for k in pic.items))
    groups = _edge_groups(pic, layout)
    rank = ranks(drawn, groups)
    if fast_layout is None:
        fast = len(drawn) + len(groups) > FAST_LAYOUT_SIZE or layout_cost(groups, rank) > FAST_LAYOUT_COST
    else:
        fast = bool(fast_layout)
    graph_attr = _escaped(_graph_attrs(rankdir, _title(target, optimized), fast))
    dot = graphviz.Digraph(name="graphflow", graph_attr=graph_attr,
                           node_attr={"fontname": L.FONT, "fontsize": "10", "height": "0.3"},
                           edge_attr={"fontname": L.FONT, "fontsize": "8", "arrowsize": "0.6"})
    if cluster_depth is None:
        cluster_depth = FAST_CLUSTER_DEPTH if fast else None
    elif isinstance(cluster_depth, bool) or not isinstance(cluster_depth, int) or cluster_depth < 0:
        raise ValueError(f"cluster_depth must be None or an int >= 0 (0 = no clusters), got {cluster_depth!r}")
    clusters: dict = {}
    for rep in drawn:
        attrs = _box_attrs(rep, layout.folded[rep]) if rep not in pic.items else _item_attrs(pic.items[rep])
        clusters.setdefault(_cut(layout.cluster_of(rep), cluster_depth), []).append((rep, attrs))
    if fast:
        groups, refs = cut_long_edges(pic, layout, groups, rank)
        for key, cluster, attrs in refs:
            clusters.setdefault(_cut(cluster, cluster_depth), []).append((key, attrs))
    node_name = _NodeNames()
    _emit_clusters(graphviz, dot, clusters, node_name)
    kind = ("xlabel" if fast else "label") if edge_labels else ""
    for s, d, group in groups:
        attrs = _edge_attrs(pic, group[0], kind)
        if len(group) > 1:  # parallel arrows between boxes: one arrow that says how many
            texts = [e.label() for e in group]
            attrs.update(tooltip="\n".join(texts), penwidth="1.4")
            if kind:
                attrs[kind] = f"{len(group)} {'updates' if group[0].kind == 'update' else 'values'}"
        if group[0].kind == "update" and not d.startswith("ref"):
            # drawn variable -> expression with the head at the variable: a back edge that
            # dot can rank like any other (a real back edge loops around the whole graph)
            s, d = d, s
            attrs["dir"] = "back"
        dot.edge(node_name(s), node_name(d), **_escaped(attrs))
    return dot


class _NodeNames:
    """DOT node names carry only text that passes the naming rule: a collapsed scope's box
    is ``scope_<path>`` when its path does (always, for names given through graphflow),
    else ``scope<N>`` (its ``id`` attribute keeps the path, escaped), since in an edge
    Graphviz reads ``:`` in a node name as a port and a backslash as an escape."""

    def __init__(self):
        self.names: dict = {}

    def __call__(self, rep: str) -> str:
        if not rep.startswith("scope_") or all(is_valid_name(p) for p in rep[len("scope_"):].split("/")):
            return rep  # n0, s0, out0, n0c1, ref..., grad_hidden: made here; or a valid path
        return self.names.setdefault(rep, f"scope{len(self.names)}")


def _cut(scope: str, depth) -> str:
    """``scope`` cut to ``depth`` parts: deeper scopes draw into their ancestor's cluster."""
    return scope if depth is None or not scope else "/".join(scope.split("/")[:depth])


def _edge_groups(pic, layout):
    """``(src box, dst box, edges)``: edges folded into the same scope box (or the hidden
    gradient box) at both ends are merged; each tensor travels an arrow once."""
    groups: dict = {}
    for e in pic.edges:
        s, d = layout.rep[e.src], layout.rep[e.dst]
        if s == d:
            continue
        folded = s not in pic.items or d not in pic.items
        key = (s, d, e.kind) if folded else (s, d, e.kind, id(e.tensor))
        group = groups.setdefault(key, {})
        group.setdefault(id(e.tensor), e)
    return [(key[0], key[1], list(group.values())) for key, group in groups.items()]


def _emit_clusters(graphviz, dot, clusters: dict, node_name) -> None:
    """Nested ``subgraph cluster_<scope>`` blocks, children before they are attached."""
    scopes = set()
    for scope in clusters:
        scopes.update(p for p in _prefixes(scope) if p)  # "" is the top level, never a cluster
    children: dict = {}
    for scope in sorted(scopes):
        children.setdefault(scope.rpartition("/")[0] if "/" in scope else "", []).append(scope)

    def build(scope, depth):
        g = graphviz.Digraph(name=graphviz.nohtml(_capped(f"cluster_{scope}").replace("\\", "\\\\")))
        grad = GRAD_MARK in scope.split("/")
        label = ("∇ " if scope.rpartition("/")[2] == GRAD_MARK else "") + scope.rpartition("/")[2]
        g.attr(**_escaped({"label": label, "tooltip": f"scope {scope}", "id": f"cluster_{scope}",
                           **L.cluster_style(depth, grad)}))
        for rep, attrs in clusters.get(scope, []):
            g.node(node_name(rep), **_escaped(attrs))
        for child in children.get(scope, []):
            g.subgraph(build(child, depth + 1))
        return g

    for rep, attrs in clusters.get("", []):
        dot.node(node_name(rep), **_escaped(attrs))
    for scope in children.get("", []):
        dot.subgraph(build(scope, 0))
