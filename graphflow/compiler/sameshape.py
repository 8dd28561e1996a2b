"""Which tensors surely have the same run-time shape, though their static shapes have
unknown (``None``) dims.

Gradients of ops on batch-sized tensors undo broadcasting with ``sum_like(g, x)``, which
must wait for run time to see whether ``x`` was broadcast. Often the graph proves it was
not: ``g = gy * y`` where ``y`` has ``x``'s shape. ``shape_key`` finds such proofs, so
canonicalisation can drop those no-op nodes (and fusion can then join what they split).
"""
from __future__ import annotations

MAX_DEPTH = 64  # proofs deeper than this are not attempted (the answer is then "unknown")


def shape_key(t, memo: dict, depth: int = 0):
    """A key two tensors share only if their run-time shapes are surely equal: the static
    shape when fully known, else a tensor whose run-time shape ``t`` surely has."""
    key = memo.get(t)
    if key is not None:
        return key
    if None not in t.shape:
        key = ("static", t.shape)
    elif t.node is None or depth > MAX_DEPTH:
        key = t
    else:
        node = t.node
        source = node.op.shape_of_input  # declared on the op (Op.shape_of_input)
        if source is not None:
            key = shape_key(node.inputs[source], memo, depth + 1)
        elif node.op.elementwise and len(node.outputs) == 1:
            key = _dominant(node, memo, depth)
            key = t if key is None else key
        else:
            key = t
    memo[t] = key
    return key


def same_shape(a, b, memo: dict) -> bool:
    """Whether ``a`` and ``b`` surely have the same run-time shape."""
    return a is b or shape_key(a, memo) == shape_key(b, memo)


def _dominant(node, memo, depth):
    """The key of an input whose shape the element-wise output surely has (no other
    input can widen it by broadcasting), or None."""
    out = node.outputs[0]
    for i in node.inputs:
        if i.shape != out.shape:
            continue
        if all(j is i or _cannot_widen(j, i, memo, depth) for j in node.inputs):
            return shape_key(i, memo, depth + 1)
    return None


def _cannot_widen(j, i, memo, depth) -> bool:
    if j.ndim > i.ndim:
        return False
    if shape_key(j, memo, depth + 1) == shape_key(i, memo, depth + 1):
        return True
    return all(dj == 1 or (dj is not None and dj == di) for dj, di in zip(reversed(j.shape), reversed(i.shape)))
