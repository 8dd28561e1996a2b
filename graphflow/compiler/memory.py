"""Memory plan: liveness over the schedule, in-place work, and buffer reuse.

At compile time (``plan_memory``): each value's producing step and last use, where a
value that may be a view of another keeps that one alive (``reshape``, ``transpose``
and broadcasts return views, and so may any op not known to return fresh arrays);
which values may live in a planned buffer (those whose kernel says it ``writes_out``,
a fact the backend declares where it registers the kernel), and which input buffers each
may take over in place (the kernel's ``inplace`` fact). Which values are views of which
is the op's own fact (``Op.views``). Variables, fed inputs, constants and returned values
(and anything a returned value may view) never live in a planned buffer, so nothing the
caller or the state holds is ever written.

This is the one liveness computation: the executor frees its slots from ``last``.

Per input-shape signature (``assign_buffers``): concrete sizes are known, and a linear
scan over the schedule hands buffers out: a value takes over the buffer of an input
that dies at its step (same shape and dtype), else the best-fitting free buffer (the
smallest big enough, else the largest, grown). Lifetimes are intervals of one linear
schedule, so this greedy scan needs no more buffers than the largest number of planned
values live at once — what colouring the interference graph would give, in
O(n log n) instead of building the graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .shapes import nbytes


def may_view(op, position: int) -> bool:
    """Whether an output of ``op`` may share memory with its input ``position``."""
    return op.views is None or position in op.views


@dataclass
class MemoryPlan:
    """The shape-independent part of the plan (value ids index ``values``)."""
    schedule: list
    values: list = field(default_factory=list)      # node outputs in run order
    vid: dict = field(default_factory=dict)         # tensor -> value id
    step: list = field(default_factory=list)        # value id -> producing step
    last: list = field(default_factory=list)        # value id -> last step it (or a view of it) is read
    planned: list = field(default_factory=list)     # value id -> may live in a planned buffer
    inplace: list = field(default_factory=list)     # value id -> input value ids it may take over

    def inplace_pairs(self) -> int:
        return sum(1 for c in self.inplace if c)


def plan_memory(schedule, outputs, backend=None) -> MemoryPlan:
    """Liveness, aliasing and in-place candidates for ``schedule`` returning ``outputs``.
    Without a ``backend`` (O0/O1) only liveness is computed: nothing is planned."""
    p = MemoryPlan(list(schedule))
    for k, node in enumerate(schedule):
        for o in node.outputs:
            p.vid[o] = len(p.values)
            p.values.append(o)
            p.step.append(k)
    vid, last = p.vid, list(p.step)
    for k, node in enumerate(schedule):
        for t in node.inputs:
            if t in vid:
                last[vid[t]] = k
    escaping = {vid[t] for t in outputs if t in vid}
    for v in escaping:
        last[v] = len(schedule)
    for node in reversed(schedule):  # a view keeps what it views alive (and returned)
        if node.op.views == ():
            continue
        for o in node.outputs:
            ov = vid[o]
            for pos, t in enumerate(node.inputs):
                if t in vid and may_view(node.op, pos):
                    u = vid[t]
                    last[u] = max(last[u], last[ov])
                    if ov in escaping:
                        escaping.add(u)
    p.last = last
    specs = [backend.kernel_spec(node.op) if backend is not None else None for node in schedule]
    p.planned = [_plannable(specs[p.step[v]], schedule[p.step[v]]) and v not in escaping
                 for v in range(len(p.values))]
    p.inplace = [_inplace_candidates(p, v, specs[p.step[v]]) if p.planned[v] else ()
                 for v in range(len(p.values))]
    return p


def _plannable(spec, node) -> bool:
    return spec is not None and spec.writes_out and len(node.outputs) == 1


def _inplace_candidates(p: MemoryPlan, v: int, spec) -> tuple:
    node, k, out = p.schedule[p.step[v]], p.step[v], p.values[v]
    found = []
    for pos, t in enumerate(node.inputs):
        u = p.vid.get(t)
        if (u is None or not p.planned[u] or p.last[u] != k or t.dtype != out.dtype or u in found
                or not all(spec.inplace(node.op, q) for q, s in enumerate(node.inputs) if s is t)):
            continue
        found.append(u)
    return tuple(found)


@dataclass
class Assignment:
    """Buffers for one shape signature: ``buffer_of[value id]`` (or None) and byte sizes."""
    buffer_of: list
    sizes: list
    nbytes: list

    @property
    def total(self) -> int:
        return sum(self.sizes)


def assign_buffers(p: MemoryPlan, types: dict) -> Assignment:
    """Hand out buffers for concrete ``types`` (``{tensor: TensorType}``)."""
    n = len(p.values)
    nb = [nbytes(types[p.values[v]]) if p.planned[v] else None for v in range(n)]
    buffer_of, sizes, free, taken = [None] * n, [], [], set()
    dying: dict = {}
    for v in range(n):
        if nb[v]:
            dying.setdefault(p.last[v], []).append(v)
    produced = {}
    for v in range(n):
        produced.setdefault(p.step[v], []).append(v)
    for k in range(len(p.schedule)):
        for v in produced.get(k, ()):
            if not nb[v]:
                continue
            shape = types[p.values[v]].shape
            for u in p.inplace[v]:
                if buffer_of[u] is not None and u not in taken and types[p.values[u]].shape == shape:
                    buffer_of[v] = buffer_of[u]
                    taken.add(u)
                    break
            else:
                buffer_of[v] = _best_fit(free, sizes, nb[v])
        for u in dying.get(k, ()):
            if buffer_of[u] is not None and u not in taken:
                free.append(buffer_of[u])
    return Assignment(buffer_of, sizes, nb)


def _best_fit(free: list, sizes: list, need: int) -> int:
    fits = [b for b in free if sizes[b] >= need]
    if fits:
        b = min(fits, key=sizes.__getitem__)
    elif free:
        b = max(free, key=sizes.__getitem__)
        sizes[b] = need
    else:
        sizes.append(need)
        return len(sizes) - 1
    free.remove(b)
    return b


def memory_estimate(p: MemoryPlan, types: dict, assignment: Assignment | None) -> dict:
    """Static peak estimate for one signature: planned buffers (resident), plus the peak
    of other live intermediates (views count nothing), plus sources."""
    events: dict = {}
    naive = 0
    for v, t in enumerate(p.values):
        node = p.schedule[p.step[v]]
        size = nbytes(types[t]) or 0
        if node.op.views:  # a declared view allocates nothing
            continue
        naive += size
        if assignment is not None and assignment.buffer_of[v] is not None:
            continue
        events[p.step[v]] = events.get(p.step[v], 0) + size
        end = min(p.last[v], len(p.schedule) - 1) + 1
        events[end] = events.get(end, 0) - size
    live = peak = 0
    for k in sorted(events):
        live += events[k]
        peak = max(peak, live)
    arena = assignment.total if assignment is not None else 0
    srcs = sum(nbytes(ty) or 0 for t, ty in types.items() if t.node is None)
    return {"peak": arena + peak + srcs, "arena": arena, "transient": peak, "sources": srcs,
            "no_reuse": naive, "buffers": len(assignment.sizes) if assignment else 0,
            "planned": sum(b is not None for b in assignment.buffer_of) if assignment else 0}
