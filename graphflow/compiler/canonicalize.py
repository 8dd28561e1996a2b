"""Canonicalise: algebraic identities that make the graph smaller and regular.

Each rule states its identity. Rules that drop an operand (``x*1``, ``x+0``) fire only
when the result has exactly ``x``'s type and the constant's shape is static, so no
broadcast is lost. Exactness, by design choice:

- ``x*1 -> x``, ``x/1 -> x``, ``x-0 -> x``, ``--x -> x``, ``x*-1 -> -x`` are exact;
- ``x+0 -> x`` is exact except that ``-0.0 + 0`` gives ``+0.0`` (the sign of a zero);
- ``x*0 -> 0`` only for integers and booleans: for floats ``inf*0`` and ``nan*0`` are nan;
- ``x/c -> x*(1/c)`` and ``(x+c1)+c2 -> x+(c1+c2)`` may differ in the last bit (as
  ``-ffast-math`` would); a division by a power of two stays exact.
"""
from __future__ import annotations

import numpy as np

from ..graph import Constant, constant
from ..graph.dtypes import is_bool, is_float
from ..ops import elementwise as ew
from ..ops import indexing as ix
from ..ops import reductions as red
from ..ops import shape as sh
from ..ops.elementwise import abs as abs_, add, neg, sqrt, square, sub
from ..ops.joining import concatenate
from .consts import const_like, const_source, is_value, uniform_value
from .rules import RewriteGroup
from .fold import FOLD_LIMIT
from .patterns import Pat, Var
from .sameshape import same_shape

CANONICALIZE = RewriteGroup("canonicalize", "algebraic identities, constants to the right")
P = CANONICALIZE.pattern


def same_type(candidate, node):
    """``candidate`` if it has the type of node's output, else None (the rule declines)."""
    return candidate if candidate.type == node.outputs[0].type else None


# ---------------------------------------------------------------- one-line identities
x, y = Var("x"), Var("y")
xn = Var("x", where=lambda t: not is_bool(t.dtype))  # neg refuses booleans (bool * -1 is int)
P(Pat(ew.Mul, x, 1), lambda x: x)                       # x * 1 = x
P(Pat(ew.Div, x, 1), lambda x: x)                       # x / 1 = x
P(Pat(ew.Add, x, 0), lambda x: x)                       # x + 0 = x (up to the sign of a zero)
P(Pat(ew.Sub, x, 0), lambda x: x)                       # x - 0 = x
P(Pat(ew.Pow, x, 1), lambda x: x)                       # x ** 1 = x
P(Pat(ew.Mul, xn, -1), lambda x: neg(x))                # x * -1 = -x
P(Pat(ew.Sub, 0, xn), lambda x: neg(x))                 # 0 - x = -x
P(Pat(ew.Neg, Pat(ew.Neg, x)), lambda x: x)             # --x = x
P(Pat(ew.Pow, x, 2), lambda x: square(x))               # x ** 2 = x²
P(Pat(ew.Pow, x, 0.5), lambda x: sqrt(x))               # x ** 0.5 = √x
P(Pat(ew.Mul, x, x), lambda x: square(x))               # x * x = x²
P(Pat(ew.Add, x, Pat(ew.Neg, y)), lambda x, y: sub(x, y))   # x + -y = x - y
P(Pat(ew.Sub, x, Pat(ew.Neg, y)), lambda x, y: add(x, y))   # x - -y = x + y
P(Pat(ew.Abs, Pat(ew.Neg, x)), lambda x: abs_(x))       # |-x| = |x|
P(Pat(ew.Abs, Pat(ew.Abs, x)), lambda x: abs_(x))       # ||x|| = |x|


# ---------------------------------------------------------------- constants
@CANONICALIZE.rewrite(ew.Add, ew.Mul)
def constant_to_right(node, ctx):
    """c + x = x + c, c * x = x * c (so later rules look for constants on the right)"""
    a, b = node.inputs
    if const_source(a) is not None and const_source(b) is None:
        return same_type(type(node.op)()(b, a), node)
    return None


@CANONICALIZE.rewrite(ew.Mul)
def times_zero(node, ctx):
    """x * 0 = 0 for integers and booleans (not floats: inf * 0 and nan * 0 are nan)"""
    out = node.outputs[0]
    if is_float(out.dtype) or out.type.size is None or out.type.size > FOLD_LIMIT:
        return None
    if any(is_value(t, 0) for t in node.inputs):
        return const_like(0, out)
    return None


@CANONICALIZE.rewrite(ew.Div)
def divide_by_constant(node, ctx):
    """x / c = x * (1/c) for a float constant c (a multiply is cheaper than a divide)"""
    x, c = node.inputs
    if not (isinstance(c, Constant) and is_float(c.dtype) and c.dtype == x.dtype == node.outputs[0].dtype):
        return None
    with np.errstate(divide="ignore", over="ignore"):
        inv = (np.float64(1.0) / c.value.astype(np.float64)).astype(c.dtype)
    # only where 1/c is as good a number as c: a subnormal or zero c has an infinite
    # reciprocal (x / 1e-45 would become inf instead of 71362), a huge c a subnormal one
    if not (_normal(c.value) and _normal(inv)):
        return None
    return same_type(x * constant(inv), node)


def _normal(value):
    """Every entry finite, non-zero and a normal number of its dtype (no subnormals)."""
    value = np.asarray(value)
    return bool(np.all(np.isfinite(value)) and np.all(np.abs(value) >= np.finfo(value.dtype).tiny))


@CANONICALIZE.rewrite(ew.Sub)
def subtract_constant(node, ctx):
    """x - c = x + (-c) for a float constant c (so constant chains combine)"""
    x, c = node.inputs
    if not (isinstance(c, Constant) and is_float(c.dtype)) or const_source(x) is not None:
        return None
    return same_type(x + constant(-c.value), node)


@CANONICALIZE.rewrite(ew.Add, ew.Mul)
def combine_constants(node, ctx):
    """(x + c1) + c2 = x + (c1 + c2) and (x * c1) * c2 = x * (c1 * c2)"""
    inner, c2 = node.inputs
    if not isinstance(c2, Constant) or inner.node is None or type(inner.node.op) is not type(node.op):
        return None
    x, c1 = inner.node.inputs
    if not isinstance(c1, Constant) or c1.dtype != c2.dtype:
        return None
    fn = np.add if isinstance(node.op, ew.Add) else np.multiply
    with np.errstate(all="ignore"):
        combined = fn(c1.value, c2.value)
    if combined.size > FOLD_LIMIT or not _combinable(c1.value, c2.value, combined, fn is np.multiply):
        return None
    return same_type(type(node.op)()(x, constant(combined.astype(c1.dtype))), node)


def _combinable(c1, c2, combined, product):
    """Whether folding two constants keeps the value. Integers: always (wrap-around
    arithmetic is associative). Floats: all finite (``inf`` and ``nan`` meet ``x``
    differently once combined: ``(x * 1e-45) * inf`` is nan for a small ``x``, ``x * inf``
    is inf), and for a product no subnormal factor or result and no underflow to zero
    (the order of the roundings would decide the result)."""
    a, b, ab = (np.asarray(v) for v in (c1, c2, combined))
    if not np.issubdtype(a.dtype, np.floating):
        return True
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(np.isfinite(ab))):
        return False
    if not product:
        return True
    tiny = np.finfo(a.dtype).tiny
    normal = [np.all((v == 0) | (np.abs(v) >= tiny)) for v in (a, b, ab)]
    underflow = np.any((ab == 0) & (a != 0) & (b != 0))
    return bool(all(normal) and not underflow)


# ---------------------------------------------------------------- shapes
@CANONICALIZE.rewrite(sh.Transpose)
def transpose_transpose(node, ctx):
    """transpose(transpose(x, a), b) = transpose(x, a∘b), or x when that is the identity"""
    inner = node.inputs[0].node
    if inner is None or not isinstance(inner.op, sh.Transpose):
        return None
    x, a, b = inner.inputs[0], inner.op.axes, node.op.axes
    axes = tuple(a[i] for i in b)
    return x if axes == tuple(range(x.ndim)) else sh.Transpose(axes)(x)


@CANONICALIZE.rewrite(sh.Reshape, sh.ReshapeLike)
def reshape_reshape(node, ctx):
    """reshape(reshape(x)) = reshape(x): only the last shape counts (C order composes)"""
    inner = node.inputs[0].node
    if inner is None or not isinstance(inner.op, (sh.Reshape, sh.ReshapeLike)):
        return None
    return same_type(node.op(inner.inputs[0], *node.inputs[1:]), node)


@CANONICALIZE.rewrite(sh.Reshape, sh.ReshapeLike, sh.BroadcastTo, sh.BroadcastLike, sh.SumLike,
                      sh.Transpose, red.Sum, red.Mean, ew.Cast)
def no_op_reshape(node, ctx):
    """reshape/broadcast/sum_like/transpose, a sum or mean over length-1 axes (kept), a
    cast: each to x's own static type = x"""
    x, out = node.inputs[0], node.outputs[0]
    if None in out.shape or x.type != out.type:
        return None
    op = node.op
    if isinstance(op, sh.Transpose) and op.axes != tuple(range(x.ndim)):
        return None  # a square transpose keeps the type but moves values
    if isinstance(op, red.Reduce) and any(x.shape[a] != 1 for a in op.axes):
        return None
    return x


@CANONICALIZE.rewrite(sh.SumLike, sh.BroadcastLike, sh.ReshapeLike)
def like_its_own_shape(node, ctx):
    """sum_like(x, t) = broadcast_like(x, t) = reshape_like(x, t) = x when x surely has
    t's run-time shape (see sameshape.py)"""
    x, like = node.inputs
    return same_type(x, node) if same_shape(x, like, ctx.memo) else None


@CANONICALIZE.rewrite(ew.Add, ew.Mul)
def neutral_broadcast_like(node, ctx):
    """x + broadcast_like(0, t) = x and x * broadcast_like(1, t) = x when x surely has
    t's run-time shape (the ones_like/zeros_like that gradients start from)"""
    neutral = 0 if isinstance(node.op, ew.Add) else 1
    for x, b in (node.inputs, reversed(node.inputs)):
        bl = b.node
        if (bl is not None and isinstance(bl.op, sh.BroadcastLike) and uniform_value(bl.inputs[0]) == neutral
                and same_shape(x, bl.inputs[1], ctx.memo)):
            return same_type(x, node)
    return None


@CANONICALIZE.rewrite(ew.Elementwise)
def broadcast_done_by_elementwise(node, ctx):
    """f(broadcast_like(g, t), y) = f(g, y) when y surely has t's run-time shape: the
    element-wise op broadcasts g to that shape anyway"""
    ins = node.inputs
    for p, t in enumerate(ins):
        bl = t.node
        if bl is None or not isinstance(bl.op, sh.BroadcastLike):
            continue
        g, like = bl.inputs
        if any(q != p and same_shape(y, like, ctx.memo) for q, y in enumerate(ins)):
            return same_type(node.op(*ins[:p], g, *ins[p + 1:]), node)
    return None


@CANONICALIZE.rewrite(sh.Reshape)
def reshape_of_kept_sum(node, ctx):
    """reshape(sum(x, axes, keepdims=True), shape without those axes) = sum(x, axes)"""
    r = node.inputs[0].node
    if r is None or not isinstance(r.op, (red.Sum, red.Mean, red.Max, red.Min)) or not r.op.keepdims:
        return None
    return same_type(type(r.op)(r.op.axes, False)(r.inputs[0]), node)


@CANONICALIZE.rewrite(sh.Squeeze)
def squeeze_expand_dims(node, ctx):
    """squeeze(expand_dims(x, a), a) = x"""
    inner = node.inputs[0].node
    if inner is None or not isinstance(inner.op, sh.ExpandDims) or node.op.axes != (inner.op.axis,):
        return None
    return inner.inputs[0]


def _sum_terms(t, dtype_shape) -> list:
    """The summands of ``t`` through adds of one type (``a + b + c`` -> ``[a, b, c]``)."""
    node = t.node
    if node is not None and isinstance(node.op, ew.Add) and all((u.dtype, u.shape) == dtype_shape
                                                                for u in node.inputs):
        return _sum_terms(node.inputs[0], dtype_shape) + _sum_terms(node.inputs[1], dtype_shape)
    return [t]


def _cut_axis(keys, shape):
    """The one axis the slice ``keys`` cut into consecutive pieces covering it, and each
    key's start on it; None if they do not (other axes whole, step 1, static length)."""
    def whole(e, dim):
        start, stop, step = e
        return start in (None, 0) and step in (None, 1) and (stop is None or dim is not None and stop >= dim)
    if any(len(k) != len(shape) or not all(isinstance(e, tuple) for e in k) for k in keys):
        return None
    axes = {a for k in keys for a, e in enumerate(k) if not whole(e, shape[a])}
    if len(axes) != 1:
        return None
    (axis,) = axes
    dim = shape[axis]
    spans = []
    for k in keys:
        start, stop, step = k[axis]
        start, stop = 0 if start is None else start, dim if stop is None else stop
        if dim is None or step not in (None, 1) or not 0 <= start < stop <= dim:
            return None
        spans.append((start, stop))
    order = sorted(range(len(keys)), key=lambda i: spans[i])
    edges = [spans[i] for i in order]
    if edges[0][0] != 0 or edges[-1][1] != dim or any(a[1] != b[0] for a, b in zip(edges, edges[1:])):
        return None
    return axis, order


@CANONICALIZE.rewrite(ew.Add)
def getitem_grads_to_concatenate(node, ctx):
    """getitem_grad(g1, t, x[.., a:b]) + getitem_grad(g2, t, x[.., b:c]) + ... =
    concatenate([g1, g2, ...]) when the slices cut one axis of t into consecutive pieces
    covering it (the gradient of splitting a tensor into gates): one pass instead of a
    zero-filled array per piece and the adds (up to the sign of a zero)"""
    out = node.outputs[0]
    terms = _sum_terms(out, (out.dtype, out.shape))
    grads = [t.node for t in terms]
    if len(terms) < 2 or any(n is None or not isinstance(n.op, ix.GetItemGrad) for n in grads):
        return None
    like = grads[0].inputs[1]
    if any(n.inputs[1] is not like or n.inputs[0].dtype != out.dtype for n in grads):
        return None
    cut = _cut_axis([n.op.key for n in grads], like.shape)
    if cut is None:
        return None
    axis, order = cut
    return same_type(concatenate([grads[i].inputs[0] for i in order], axis), node)
