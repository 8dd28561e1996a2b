"""Big pictures: how much work a layout is, and long arrows cut into short references.

Graphviz's ``dot`` lays a graph out in ranks, and an arrow spanning ``k`` ranks costs
``k`` hidden nodes in every later phase. A training graph has many such arrows (each
forward activation is read again deep in the gradient, every variable by the
optimiser), so a 5,000-op graph carries tens of thousands of hidden nodes and ``dot``
runs for many minutes. ``ranks`` estimates where ``dot`` will put each box (so the cost
is known before calling it); in fast layout ``cut_long_edges`` replaces each long arrow
by a small reference box next to its consumer (``↪ relu`` / ``in block3``), and ``dot``
stays within seconds.

    >>> rank = ranks(drawn, groups)
    >>> groups, refs = cut_long_edges(pic, layout, groups, rank)
"""
from __future__ import annotations

import heapq

LONG_SPAN = 4  # ranks; longer arrows are cut in fast layout
REF_STYLE = {"shape": "box", "style": "rounded,dashed", "color": "#adb5bd", "fontcolor": "#495057",
             "fontsize": "8", "height": "0.2"}


def _data_edges(groups):
    """``(tail, head)`` as ``dot`` ranks them (update arrows are drawn variable -> value)."""
    for s, d, group in groups:
        yield (s, d) if group[0].kind == "data" else (d, s)


def ranks(drawn: list, groups) -> dict:
    """Each drawn box's rank as ``dot`` will roughly place it: longest path from the
    boxes nothing feeds (cycles left by collapsing are broken in drawing order); then
    a box nothing feeds moves down next to its first consumer, as ``dot`` would."""
    order = {rep: i for i, rep in enumerate(drawn)}
    succ: dict = {rep: [] for rep in drawn}
    indeg = dict.fromkeys(drawn, 0)
    for tail, head in _data_edges(groups):
        succ[tail].append(head)
        indeg[head] += 1
    rank = dict.fromkeys(drawn, 0)
    ready = [(order[r], r) for r in drawn if indeg[r] == 0]
    heapq.heapify(ready)
    done, next_unseen = set(), 0
    while len(done) < len(drawn):
        if not ready:  # a cycle: go on from the earliest box not placed yet
            while drawn[next_unseen] in done:
                next_unseen += 1
            heapq.heappush(ready, (next_unseen, drawn[next_unseen]))
        _, rep = heapq.heappop(ready)
        if rep in done:
            continue
        done.add(rep)
        for head in succ[rep]:
            if head not in done:
                rank[head] = max(rank[head], rank[rep] + 1)
                indeg[head] -= 1
                if indeg[head] == 0:
                    heapq.heappush(ready, (order[head], head))
    fed = {head for _, head in _data_edges(groups)}
    for rep in drawn:
        if rep not in fed and succ[rep]:
            rank[rep] = min(rank[h] for h in succ[rep]) - 1
    return rank


def layout_cost(groups, rank) -> int:
    """Hidden nodes ``dot`` will add: the ranks each arrow crosses."""
    return sum(max(abs(rank[head] - rank[tail]) - 1, 0) for tail, head in _data_edges(groups))


def _source_text(pic, rep) -> tuple:
    if rep in pic.items:
        it = pic.items[rep]
        return it.label, it.scope
    if rep.startswith("scope_"):
        scope = rep[len("scope_"):]
        return scope.rpartition("/")[2], scope.rpartition("/")[0]
    return "gradients", ""


def cut_long_edges(pic, layout, groups, rank) -> tuple:
    """``(groups, refs)``: arrows spanning more than ``LONG_SPAN`` ranks re-pointed at
    reference boxes; ``refs`` lists ``(key, cluster, attrs)``. A data arrow's reference
    sits by its consumer (``↪ relu``), an update's by its value (``update → w``)."""
    out, refs = [], []
    for s, d, group in groups:
        e = group[0]
        tail, head = (s, d) if e.kind == "data" else (d, s)
        literal = s in pic.items and pic.items[s].kind == "literal"
        if abs(rank[head] - rank[tail]) <= LONG_SPAN or literal:
            out.append((s, d, group))
            continue
        if e.kind == "data":
            text, scope = _source_text(pic, s)
            label, cluster = f"↪ {text}", layout.cluster_of(d)
            tip = f"from {s} ({len(group)} value{'s' if len(group) > 1 else ''})"
        else:
            text, scope = _source_text(pic, d)
            label, cluster = f"update → {text}", layout.cluster_of(s)
            tip = f"updates {d}"
        key = f"ref{len(refs)}"
        label += f"\nin {scope}" if scope else ""
        refs.append((key, cluster, {"label": label, "tooltip": tip, "id": key, **REF_STYLE}))
        out.append((key, d, group) if e.kind == "data" else (s, key, group))
    return out, refs
