"""Loop-level rewrites: one loop where a gradient made a second copy of it.

Differentiating a loop whose carried values are returned only at the end (a
``while_loop``) makes a *history* twin: the same loop on the same inputs, stacking every
carried value for the backward loop, and also returning the final values
(``Loop.also_last``). ``merge_loop_twins`` lets the twin stand in for the loop itself, so
the forward loop runs once.
"""
from __future__ import annotations

from dataclasses import replace

from ..graph import toposort
from ..ops.control_flow import Loop
from .engine import substitute


def _key(node):
    return id(node.op.body), tuple(id(t) for t in node.inputs)


def merge_loop_twins(outputs) -> tuple:
    """``(new outputs, number of loops replaced by their history twin)``."""
    twins = {_key(n): n for n in toposort(outputs) if isinstance(n.op, Loop) and n.op.also_last}
    if not twins:
        return outputs, 0
    merged = [0]

    def expand(node):
        op = node.op
        if not isinstance(op, Loop) or op.also_last:
            return None
        twin = twins.get(_key(node))
        if twin is None or replace(twin.op, stacked=op.stacked, out_flip=op.out_flip, out_like=op.out_like,
                                   also_last=False) != op:
            return None
        n = len(op.stacked)
        picks = [i if op.stacked[i] else n + op.feedback.index(i) for i in range(n)]
        merged[0] += 1
        return list(twin.outputs), lambda resolved: [resolved[p] for p in picks]
    return substitute(outputs, expand=expand), merged[0]
