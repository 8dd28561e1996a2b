"""Moving work out of loop bodies, where one big operation beats many small ones.

- ``push_out_sequences`` (Theano's ``PushOutSeqScan``): a part of the body that depends
  on the sequence slices but not on the carried values — an RNN's input projection
  ``x_t @ W``, the backward loop's recomputation of the forward step from the stored
  history — is computed for all steps at once outside the loop (one ``(T*B, F) @ (F, H)``
  matmul instead of T small ones) and enters the body as a new sequence. Only ops that
  map row by row over a leading time axis move: element-wise ops whose sliced operands
  have the result's rank, and ``matmul`` of a sliced left operand by an invariant matrix.
- ``split_accumulation`` (Theano's ``PushOutDot1``): a gradient accumulated over the
  steps as ``acc + a_t.T @ b_t`` becomes one matmul of the stacked ``a`` and ``b`` after
  the loop; ``acc + sum(x_t, axes)`` (a bias's gradient) one sum of the stacked ``x``.
"""
from __future__ import annotations

from dataclasses import replace

from ...graph import apply, toposort
from .. import shape as shape_ops
from .. import reductions
from ..elementwise import Add
from ..reductions import Sum
from ..indexing import GetItem, GetItemGrad
from ..linalg import MatMul, matmul
from ..shape import BroadcastLike, Reshape, SumLike, Transpose
from .body import _variant_set, clone, inner_placeholder

#: set False to keep every loop body whole (tests compare both ways)
ENABLED = True


_FULL = (None, None, None)  # the key entry of a whole axis (``:``)


def _keyed(op, node, seq_pos):
    """getitem / its gradient over a stack: the same key behind a whole time axis."""
    if seq_pos != set(range(len(node.inputs))) or (op.key and op.key[0] is None):
        return None
    return replace(op, key=(_FULL,) + tuple(op.key))


def _like(op, node, seq_pos):
    """sum_like / broadcast_like: per row when ``like`` (and a stacked x) gain the axis."""
    x, like = node.inputs
    if 1 not in seq_pos or (0 in seq_pos and x.ndim != like.ndim) or x.ndim > like.ndim:
        return None
    return op


def _matmul(op, node, seq_pos):
    """a sliced left operand by an invariant matrix: (T, ..., k) @ (k, n)."""
    return op if seq_pos == {0} and node.inputs[1].ndim == 2 and node.inputs[0].ndim >= 1 else None


#: op type -> fn(op, node, sliced input positions) -> the op over a stack, or None
OVER_TIME = {GetItem: _keyed, GetItemGrad: _keyed, SumLike: _like, BroadcastLike: _like, MatMul: _matmul}


def _over_time(node, seq_pos):
    """The op that computes ``node`` for every step at once when its sliced inputs
    (``seq_pos``) gain a leading time axis; None if there is none."""
    op = node.op
    if op.random or len(node.outputs) != 1:
        return None
    out_ndim = node.outputs[0].ndim
    if op.elementwise:
        ok = all((node.inputs[i].ndim == out_ndim) if i in seq_pos else (node.inputs[i].ndim <= out_ndim)
                 for i in range(len(node.inputs)))
        return op if ok else None
    rule = OVER_TIME.get(type(op))
    return rule(op, node, seq_pos) if rule is not None else None


def _move(wanted, seq_phs, outer_seqs, outer_of, moved_ops):
    """Build ``wanted`` outside the loop: slices become their sequences, each moved node
    takes its op over the stack (``moved_ops``), invariants their outer tensors."""
    done = dict(outer_of)
    done.update(zip(seq_phs, outer_seqs))
    for node in toposort(wanted):
        ins = [done.get(t, t) for t in node.inputs]
        op = moved_ops.get(id(node), node.op)
        if op is node.op and all(a is b for a, b in zip(ins, node.inputs)):
            continue
        done.update(zip(node.outputs, apply(op, ins)))
    return [done[t] for t in wanted]


def push_out_sequences(outputs, seq_phs, outer_seqs, groups, stateful, outer_of, name):
    """Returns ``(outputs, new slice placeholders, their outer sequences, their groups)``.

    ``groups[j]`` tells which sequences may be combined (same reading direction and
    length); ``stateful``: the inputs that change with the carried state (carried values,
    the iteration index); ``outer_of``: the outer tensor of each invariant placeholder."""
    outputs = list(outputs)
    if not ENABLED:
        return outputs, [], [], []
    dep_state = _variant_set(outputs, stateful)
    info = {id(p): (g, True) for p, g in zip(seq_phs, groups)}  # id -> (group or -1, movable)
    moved_ops = {}
    nodes = toposort(outputs)
    for node in nodes:
        if any(id(o) in dep_state for o in node.outputs):
            continue
        pos = {i for i, t in enumerate(node.inputs) if id(t) in info}
        if not pos:
            continue
        gs = {info[id(node.inputs[i])][0] for i in pos}
        group = gs.pop() if len(gs) == 1 else -1
        op = _over_time(node, pos) if group != -1 and all(info[id(node.inputs[i])][1] for i in pos) else None
        if op is not None:
            moved_ops[id(node)] = op
        for o in node.outputs:
            info[id(o)] = (group, op is not None)
    wanted = []
    seen = set()

    def want(t):
        if t.node is not None and id(t) in info and info[id(t)][1] and id(t) not in seen:
            seen.add(id(t))
            wanted.append(t)
    for node in nodes:
        inside = any(id(o) in dep_state for o in node.outputs) or not info.get(id(node.outputs[0]), (0, False))[1]
        if inside:
            for t in node.inputs:
                want(t)
    for t in outputs:
        want(t)
    if not wanted:
        return outputs, [], [], []
    moved = _move(wanted, seq_phs, outer_seqs, outer_of, moved_ops)
    new_phs = [inner_placeholder(t.type, f"{name}/{t.node.op.op_name()}_t") for t in wanted]
    new_groups = [info[id(t)][0] for t in wanted]
    return clone(outputs, dict(zip(wanted, new_phs))), new_phs, moved, new_groups


def pushed_labels(moved) -> tuple:
    """What ``push_out_sequences`` moved, as ``op (file:line)`` texts for reports."""
    return tuple(f"{t.node.op.label()} ({t.node.site})" for t in moved if t.node is not None)


def _terms(g):
    """``g`` as a list of summands (through same-shaped adds)."""
    node = g.node
    if node is not None and isinstance(node.op, Add) and all(t.shape == g.shape for t in node.inputs):
        return _terms(node.inputs[0]) + _terms(node.inputs[1])
    return [g]


def _outer_dot(node):
    """``(a, b)`` when ``node`` is ``transpose(a) @ b`` for 2-D ``a``, ``b``; else None."""
    if node is None or not isinstance(node.op, MatMul):
        return None
    ta, b = node.inputs
    if ta.node is None or not isinstance(ta.node.op, Transpose) or ta.node.op.axes != (1, 0):
        return None
    a = ta.node.inputs[0]
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] is None or b.shape[1] is None:
        return None
    return a, b


def _step_sum(node):
    """``(x, axes)`` when ``node`` is ``sum(x, axes)`` without kept axes, or the reshape
    that drops them (how gradients undo broadcasting); else None."""
    if node is not None and isinstance(node.op, Reshape) and node.inputs[0].node is not None:
        inner = node.inputs[0].node
        if isinstance(inner.op, Sum) and inner.op.keepdims:
            x = inner.inputs[0]
            rest = tuple(d for a, d in enumerate(x.shape) if a not in inner.op.axes)
            if None not in rest and rest == node.outputs[0].shape:
                return x, tuple(inner.op.axes)
        return None
    if node is None or not isinstance(node.op, Sum) or node.op.keepdims:
        return None
    return node.inputs[0], tuple(node.op.axes)


def split_accumulation(g, variant_ids):
    """``(kept, moved)``: the summands of ``g`` that stay in the loop (a tensor or None)
    and the step-dependent ones that leave it: ``("dot", a, b)`` for ``a_t.T @ b_t``,
    ``("sum", x, axes)`` for ``sum(x_t, axes)`` (a bias's gradient)."""
    if not ENABLED:
        return g, []
    kept, moved = [], []
    for term in _terms(g):
        pair = _outer_dot(term.node) if id(term) in variant_ids else None
        total = _step_sum(term.node) if id(term) in variant_ids and pair is None else None
        if pair is not None:
            moved.append(("dot",) + pair)
        elif total is not None:
            moved.append(("sum",) + total)
        else:
            kept.append(term)
    total = None
    for t in kept:
        total = t if total is None else total + t
    return total, moved


def stacked_sum(rows, axes):
    """``sum_t sum(x_t, axes)`` from the stacked ``rows`` (T, ...)."""
    return reductions.sum(rows, (0,) + tuple(a + 1 for a in axes))


def stacked_dot(a_rows, b_rows, a, b):
    """``sum_t a_t.T @ b_t`` from the stacked ``a_rows`` (T, n, p) and ``b_rows`` (T, n, q)."""
    a2 = shape_ops.reshape(a_rows, (-1, a.shape[1]))
    b2 = shape_ops.reshape(b_rows, (-1, b.shape[1]))
    return matmul(shape_ops.transpose(a2), b2)
