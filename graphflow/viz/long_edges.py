"""Big pictures: long arrows become short references.

Graphviz's ``dot`` lays a graph out in ranks, and an arrow spanning ``k`` ranks costs
``k`` hidden nodes in every later phase. A training graph has many such arrows (each
forward activation is read again deep in the gradient, every variable by the
optimiser), so a 5,000-op graph carries over a million hidden nodes and ``dot`` runs for
tens of minutes. In fast layout those arrows are cut: the consumer gets a small
reference box (``↪ relu`` / ``in block3``) next to it, and update arrows end in a
``update → w`` box beside the expression. The picture stays local, and ``dot`` stays
within seconds.

    >>> groups, refs = cut_long_edges(pic, layout, groups)    # used by to_dot
"""
from __future__ import annotations

LONG_SPAN = 4  # ranks; longer arrows are cut in fast layout
REF_STYLE = {"shape": "box", "style": "rounded,dashed", "color": "#adb5bd", "fontcolor": "#495057",
             "fontsize": "8", "height": "0.2"}


def depths(pic) -> dict:
    """Each item's rank as ``dot`` will roughly place it: ops by longest path from the
    sources; sources and literals one rank above their first consumer."""
    depth, first_use = {}, {}
    for e in pic.edges:
        if e.kind != "data":
            continue
        if pic.items[e.src].kind in ("op",):
            depth[e.dst] = max(depth.get(e.dst, 1), depth.get(e.src, 1) + 1)
        else:
            depth.setdefault(e.dst, 1)
    for e in pic.edges:
        if e.kind == "data" and pic.items[e.src].kind != "op":
            first_use[e.src] = min(first_use.get(e.src, depth[e.dst]), depth[e.dst])
    depth.update({k: d - 1 for k, d in first_use.items()})
    return depth


def _source_text(pic, layout, rep) -> tuple:
    if rep in pic.items:
        it = pic.items[rep]
        return it.label, it.scope
    if rep.startswith("scope_"):
        scope = rep[len("scope_"):]
        return scope.rpartition("/")[2], scope.rpartition("/")[0]
    return "gradients", ""


def cut_long_edges(pic, layout, groups) -> tuple:
    """``(groups, refs)``: arrows spanning more than ``LONG_SPAN`` ranks (and all update
    arrows) re-pointed at reference boxes; ``refs`` lists ``(key, cluster, attrs)``."""
    depth = depths(pic)
    out, refs = [], []
    for s, d, group in groups:
        e = group[0]
        if e.kind == "data":
            span = depth.get(e.dst, 0) - depth.get(e.src, 0)
            if span <= LONG_SPAN or pic.items[e.src].kind == "literal":
                out.append((s, d, group))
                continue
            text, scope = _source_text(pic, layout, s)
            label, cluster = f"↪ {text}" + (f"\nin {scope}" if scope else ""), layout.cluster_of(d)
            tip = f"from {s} ({len(group)} value{'s' if len(group) > 1 else ''})"
        else:
            text, scope = _source_text(pic, layout, d)
            label, cluster = f"update → {text}" + (f"\nin {scope}" if scope else ""), layout.cluster_of(s)
            tip = f"updates {d}"
        key = f"ref{len(refs)}"
        refs.append((key, cluster, {"label": label, "tooltip": tip, "id": key, **REF_STYLE}))
        out.append((key, d, group) if e.kind == "data" else (s, key, group))
    return out, refs
