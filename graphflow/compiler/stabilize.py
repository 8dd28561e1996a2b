"""Stabilise: rewrite formulas that overflow, underflow or lose digits into ones that do not.

Each rule computes the same mathematical function; it differs only where the original
formula loses precision or produces inf/nan.
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import is_float
from ..ops import elementwise as ew
from ..ops import reductions as red
from ..ops.elementwise import expm1, log1p, neg, softplus
from ..ops.nn.losses import SoftmaxCrossEntropy
from ..ops.nn.softmax_ops import LogSoftmax, Softmax
from ..ops.special import LogSumExp
from ..ops.shape import broadcast_like
from .canonicalize import same_type
from .sameshape import same_shape
from .patterns import Pat, Var, floating
from .rules import RewriteGroup

STABILIZE = RewriteGroup("stabilize", "numerically stable forms of unstable formulas")
P = STABILIZE.pattern
x, xf = Var("x"), Var("x", where=floating)

P(Pat(ew.Log, Pat(ew.Add, xf, 1)), lambda x: log1p(x))                     # log(x + 1) = log1p(x)
P(Pat(ew.Log, Pat(ew.Sub, 1, xf)), lambda x: log1p(neg(x)))                # log(1 - x) = log1p(-x)
P(Pat(ew.Log1p, Pat(ew.Exp, x)), lambda x: softplus(x))                    # log(1 + e^x) = softplus(x)
P(Pat(ew.Log, Pat(ew.Sigmoid, x)), lambda x: neg(softplus(neg(x))))        # log σ(x) = -softplus(-x)
P(Pat(ew.Log1p, Pat(ew.Neg, Pat(ew.Sigmoid, x))), lambda x: neg(softplus(x)))  # log(1 - σ(x)) = -softplus(x)
P(Pat(ew.Log, Pat(ew.Exp, x)), lambda x: x)                                # log(e^x) = x
P(Pat(ew.Add, Pat(ew.Exp, x), -1), lambda x: expm1(x))                     # e^x + -1 = expm1(x)


def _op(t, op_type):
    """t's node if its op is an ``op_type``, else None."""
    return t.node if t.node is not None and isinstance(t.node.op, op_type) else None


@STABILIZE.rewrite(ew.Log)
def log_softmax(node, ctx):
    """log(softmax(x)) = log_softmax(x)"""
    sm = _op(node.inputs[0], Softmax)
    return LogSoftmax(sm.op.axis)(sm.inputs[0]) if sm is not None else None


@STABILIZE.rewrite(ew.Log)
def log_of_normalised_exp(node, ctx):
    """log(e / sum(e)) with e = exp(a) = a - logsumexp(a) (a hand-written softmax)"""
    div = _op(node.inputs[0], ew.Div)
    if div is None:
        return None
    e, s = div.inputs
    exp_node, sum_node = _op(e, ew.Exp), _op(s, red.Sum)
    if exp_node is None or sum_node is None or sum_node.inputs[0] is not e or not sum_node.op.keepdims:
        return None
    a = exp_node.inputs[0]
    return same_type(a - LogSumExp(sum_node.op.axes, True)(a), node)


@STABILIZE.rewrite(ew.Log)
def log_sum_exp(node, ctx):
    """log(sum(exp(x))) = logsumexp(x) = m + log(sum(exp(x - m))), m = max(x)"""
    s = _op(node.inputs[0], red.Sum)
    e = _op(s.inputs[0], ew.Exp) if s is not None else None
    if e is None or not is_float(e.inputs[0].dtype):
        return None
    return same_type(LogSumExp(s.op.axes, s.op.keepdims)(e.inputs[0]), node)


def _softmax_probabilities(t):
    """x if t is softmax(x) along the last axis, or Keras's renormalised p / sum(p, -1) of
    p = softmax(x); else None."""
    div = _op(t, ew.Div)
    if div is not None:  # Keras renormalises: p / sum(p, -1, keepdims=True)
        p, s = div.inputs
        s_node = _op(s, red.Sum)
        if s_node is None or s_node.inputs[0] is not p or s_node.op.axes != (p.ndim - 1,):
            return None
        t = p
    sm = _op(t, Softmax)
    return sm.inputs[0] if sm is not None and sm.op.axis == t.ndim - 1 else None


@STABILIZE.rewrite(ew.Log)
def log_of_clipped_softmax(node, ctx):
    """log(clip(softmax(x), lo, hi)) = clip(log_softmax(x), log lo, log hi) (Keras's
    clipped cross-entropy; also through its renormalisation p / sum(p)): the same values
    and, clip kept, the same gradient, without log of probabilities that underflow"""
    clip = _op(node.inputs[0], ew.Clip)
    x = _softmax_probabilities(clip.inputs[0]) if clip is not None else None
    if x is None or not is_float(x.dtype) or not (0 < clip.op.lo < clip.op.hi):
        return None
    with np.errstate(divide="ignore"):
        lo, hi = (float(np.log(np.asarray(v, x.dtype))) for v in (clip.op.lo, clip.op.hi))
    return same_type(ew.clip(LogSoftmax(x.ndim - 1)(x), lo, hi), node)


def _log_softmax_input(t):
    """x if t is log_softmax(x) along the last axis, else None."""
    lsm = _op(t, LogSoftmax)
    return lsm.inputs[0] if lsm is not None and lsm.op.axis == t.ndim - 1 else None


@STABILIZE.rewrite(ew.Neg)
def softmax_cross_entropy(node, ctx):
    """-sum(t * log(softmax(x)), -1) = softmax_cross_entropy(x, t), whose gradient is
    softmax(x) - t: one stable op (an unclipped formula only: a clip changes the values
    where it bites, so Keras's clipped form keeps its clip, see log_of_clipped_softmax)"""
    s = _op(node.inputs[0], red.Sum)
    m = _op(s.inputs[0], ew.Mul) if s is not None else None
    if m is None or s.op.keepdims or s.op.axes != (m.outputs[0].ndim - 1,):
        return None
    for t, lp in (m.inputs, reversed(m.inputs)):
        x = _log_softmax_input(lp)
        if x is not None and t.dtype == x.dtype and t.ndim == x.ndim and is_float(x.dtype) and all(
                a is None or b is None or a == b for a, b in zip(t.shape, x.shape)):
            return same_type(SoftmaxCrossEntropy()(x, t), node)
    return None


@STABILIZE.rewrite(SoftmaxCrossEntropy)
def cross_entropy_of_log_probabilities(node, ctx):
    """softmax_cross_entropy(log_softmax(x), t) = softmax_cross_entropy(x, t)"""
    logits, t = node.inputs
    x = _log_softmax_input(logits)
    return SoftmaxCrossEntropy()(x, t) if x is not None and x.type == logits.type else None


@STABILIZE.rewrite(ew.Mul)
def softmax_grad_of_ratio(node, ctx):
    """y * (a/y - sum(a/y * y)) = a - y * sum(a) for y = softmax(x): the gradient of
    log(softmax(x)) without dividing by probabilities that may underflow to 0"""
    y, d = node.inputs
    sm, sub = _op(y, Softmax), _op(d, ew.Sub)
    if sm is None or sub is None:
        return None
    g, s = sub.inputs
    div, s_node = _op(g, ew.Div), _op(s, red.Sum)
    if div is None or s_node is None or div.inputs[1] is not y or not s_node.op.keepdims:
        return None
    gy = _op(s_node.inputs[0], ew.Mul)
    if gy is None or set(map(id, gy.inputs)) != {id(g), id(y)} or s_node.op.axes != (sm.op.axis,):
        return None
    a = div.inputs[0]
    if not same_shape(a, g, ctx.memo):  # sum over the broadcast a, as the original sums a/y * y
        a = broadcast_like(a, y) if same_shape(g, y, ctx.memo) else a + 0.0 * y
    return same_type(a - y * red.sum(a, sm.op.axis, keepdims=True), node)
