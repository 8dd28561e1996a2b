"""Fusion: maximal groups of element-wise ops become one ``Fused`` op, and a convolution
or matrix product followed by element-wise work (bias add, activation) one
``FusedEpilogue`` op.

Groups are grown from the outputs down: walking nodes users-first, an element-wise node
joins the group of its users when all of them are in one group (and its value is not
returned), otherwise it starts a group. So every value inside a group is used only
inside it (nothing is computed twice) and no group can reach itself through an outside
node (no cycles). Broadcasting is fine inside a group: each step broadcasts as before.
"""
from __future__ import annotations

from ..ops.fused import Fused, FusedEpilogue
from .engine import substitute
from .graph import GraphView


class _Fusable:
    """Memoised ``node -> bool``: an element-wise, deterministic, one-output op the
    backend has a kernel for."""

    def __init__(self, backend):
        self.backend, self.memo = backend, {}

    def __call__(self, node) -> bool:
        op = node.op
        if not op.elementwise or op.random or len(node.outputs) != 1 or isinstance(op, (Fused, FusedEpilogue)):
            return False
        t = type(op)
        if t not in self.memo:
            self.memo[t] = self.backend.can_run(t)
        return self.memo[t]


def element_groups(view: GraphView, fusable) -> dict:
    """``{root node: [member nodes in run order, root last]}`` for every group."""
    group = {}
    for node in reversed(view.nodes):
        if not fusable(node):
            continue
        clients = view.clients[node]
        roots = {group.get(c) for c in clients}
        joined = len(roots) == 1 and id(node.outputs[0]) not in view.output_ids
        group[node] = roots.pop() if joined and None not in roots else node
    members: dict = {}
    for node in view.nodes:
        if node in group:
            members.setdefault(group[node], []).append(node)
    return members


def fused_op(members) -> tuple:
    """``(Fused op, external input tensors)`` computing the group's root."""
    index = {m: i for i, m in enumerate(members)}
    ext, pos = [], {}
    for m in members:
        for t in m.inputs:
            if t.node not in index and t not in pos:
                pos[t] = len(ext)
                ext.append(t)
    n = len(ext)
    steps = tuple((m.op, tuple(n + index[t.node] if t.node in index else pos[t] for t in m.inputs))
                  for m in members)
    return Fused(steps, n), ext


def _epilogue_head(members, ext, view):
    """The head node feeding this group, if one can be absorbed: an ``epilogue_head`` op
    (conv2d, matmul) with a fresh result whose only user is the group's first step and
    whose value is not returned."""
    first = members[0]
    for t in first.inputs:
        h = t.node
        if (h is not None and h.op.epilogue_head and h.op.views == () and len(h.outputs) == 1
                and len(view.clients[h]) == 1 and id(t) not in view.output_ids):
            return h
    return None


def fuse(outputs, ctx, epilogues=True) -> tuple:
    """Fuse element-wise groups (and head + epilogue); returns ``(outputs, stats)``."""
    if not ctx.backend.fuses:
        return list(outputs), {}
    view = GraphView(outputs)
    groups = element_groups(view, _Fusable(ctx.backend))
    plans, stats = {}, {"fused groups": 0, "ops fused": 0, "epilogues": 0}
    for root, members in groups.items():
        op, ext = fused_op(members)
        head = _epilogue_head(members, ext, view) if epilogues else None
        if head is not None:
            h_out = head.outputs[0]
            rest = [t for t in ext if t is not h_out]
            epilogue, _ = _reorder(op, ext, [h_out] + rest)
            op, ext = FusedEpilogue(head.op, len(head.inputs), epilogue), list(head.inputs) + rest
            stats["epilogues"] += 1
        elif len(members) < 2:
            continue
        stats["fused groups"] += 1
        stats["ops fused"] += len(members)
        plans[root] = (ext, lambda ins, op=op: [op(*ins)])
    if not plans:
        return list(outputs), stats
    return substitute(outputs, expand=plans.get, ctx=ctx), stats


def _reorder(op: Fused, ext, new_ext) -> tuple:
    """The same Fused op with its inputs in the order ``new_ext``."""
    where = {id(t): i for i, t in enumerate(new_ext)}
    perm = [where[id(t)] for t in ext]
    n = op.n_inputs
    steps = tuple((sub, tuple(perm[r] if r < n else r for r in refs)) for sub, refs in op.steps)
    return Fused(steps, n), new_ext
