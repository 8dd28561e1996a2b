"""Prune, constant folding and constant merging.

- ``PRUNE``: run-time no-ops go (``stop_gradient(x)`` is ``x`` once gradients are built);
  nodes no output needs are never part of the compiler's graph to begin with.
- ``FOLD``: a node whose inputs are all constants is evaluated now, with the kernels of
  the backend being compiled for (handed in, never imported), and becomes a constant.
  Random and collective ops and anything reading a variable or placeholder are never folded, and
  neither is a result of more than ``FOLD_LIMIT`` elements (``zeros_like(w)`` of a big
  weight stays a cheap broadcast instead of a big baked-in array).
- ``merge_constants``: equal constants become one, so the nodes using them merge too.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..graph import Constant, Op, constant
from ..utils import checks
from ..ops.elementwise import StopGradient
from .engine import substitute
from .rules import RewriteGroup

FOLD_LIMIT = 100_000   # elements: larger results are not materialised as constants
MERGE_LIMIT = 1_000_000  # elements: larger constants are not compared by value

PRUNE = RewriteGroup("prune", "drop run-time no-ops")
FOLD = RewriteGroup("fold", "evaluate nodes whose inputs are all constants")


@PRUNE.rewrite(StopGradient)
def stop_gradient_is_identity(node, ctx):
    """stop_gradient(x) = x at run time (gradients are already built)"""
    return node.inputs[0]


@FOLD.rewrite(Op)
def fold_constants(node, ctx):
    """op(constants) = constant(op evaluated now)"""
    op = node.op
    if op.random or op.collective or not node.inputs or not all(isinstance(t, Constant) for t in node.inputs):
        return None
    if any(o.type.size is None or o.type.size > FOLD_LIMIT for o in node.outputs):
        return None
    backend = ctx.backend
    if backend.kernel_spec(op) is None:
        return None  # nothing to evaluate it with here; the function's compile will say so
    pending = checks.start()
    try:
        kernel = backend.kernel(node)
        with np.errstate(all="ignore"):
            result = kernel(*[backend.to_device(t.value) for t in node.inputs])
        checks.finish(pending, backend.to_host)
    except (ValueError, TypeError, IndexError, ArithmeticError) as exc:
        # the op rejects these constant values: leave the node, so the call raises the
        # error with the user's line; the report says why it was not folded
        checks.abandon()
        ctx.declined("fold_constants", node, exc)
        return None
    results = result if len(node.outputs) > 1 else (result,)
    folded = []
    for r, o in zip(results, node.outputs):
        arr = np.asarray(backend.to_host(r))
        if arr.shape != o.shape:
            return None
        folded.append(constant(arr.astype(o.dtype, copy=False)))
    return folded


def merge_constants(outputs, nodes) -> tuple:
    """Make equal constants one tensor; returns ``(new outputs, number merged)``."""
    seen, mapping = {}, {}
    for n in nodes:
        for t in n.inputs:
            if isinstance(t, Constant) and t not in mapping and t.value.size <= MERGE_LIMIT:
                v = t.value
                key = (v.dtype.str, v.shape, hashlib.blake2b(np.ascontiguousarray(v).tobytes(),
                                                             digest_size=16).digest())
                first = seen.setdefault(key, t)
                mapping[t] = first
    mapping = {k: v for k, v in mapping.items() if k is not v}
    if not mapping:
        return list(outputs), 0
    return substitute(outputs, sources=mapping), len(mapping)
