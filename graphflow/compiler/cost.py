"""FLOP estimates per op, declared next to each other (one multiply-add = 2 FLOPs).

    >>> flops_of(schedule, types)     # for concrete types of one call
"""
from __future__ import annotations

import math

from ..ops import reductions as red
from ..ops import shape as sh
from ..ops.fused import Fused, FusedEpilogue
from ..ops.linalg import MatMul
from ..ops.nn import conv as nn_conv
from ..ops.nn import losses, pool, softmax_ops

_RULES: dict = {}


def flops(*op_types):
    """Decorator: ``@flops(Conv2D)`` on ``fn(op, in_types, out_types) -> int``."""
    def deco(fn):
        for t in op_types:
            _RULES[t] = fn
        return fn
    return deco


def _size(t) -> int:
    return t.size or 0


def _rule(op_type):
    for t in op_type.__mro__:
        if t in _RULES:
            return _RULES[t]
    return _RULES[object]


@flops(object)
def _default(op, ins, outs):  # element-wise and anything unknown: one FLOP per output element
    return sum(_size(o) for o in outs)


@flops(*[c for c in vars(sh).values() if isinstance(c, type) and c.__module__ == sh.__name__])
def _shape_ops(op, ins, outs):  # views and copies: no arithmetic
    return 0


@flops(red.Reduce, softmax_ops.SoftmaxOp, losses.SoftmaxCrossEntropy)
def _reduce(op, ins, outs):
    return _size(ins[0]) * (1 if isinstance(op, (red.Sum, red.Mean, red.Max, red.Min, red.Prod)) else 4)


@flops(Fused)
def _fused(op, ins, outs):
    return _size(outs[0]) * len(op.steps)


@flops(FusedEpilogue)
def _epilogue(op, ins, outs):
    head_outs = [outs[0]]  # the head's result has the output's size (the epilogue is element-wise)
    return _rule(type(op.head))(op.head, ins[:op.n_head_inputs], head_outs) + _fused(op.epilogue, None, outs)


def _conv_taps(op, x, k) -> int:
    return (k.shape[0] or 0) * (k.shape[1] or 0) * (k.shape[2] or 0)


@flops(nn_conv.Conv2D)
def _conv(op, ins, outs):
    return 2 * _size(outs[0]) * _conv_taps(op, ins[0], ins[1])


@flops(nn_conv.Conv2DBackpropInput, nn_conv.Conv2DBackpropFilter)
def _conv_grad(op, ins, outs):
    return 2 * _size(ins[2]) * _conv_taps(op, ins[0], ins[1])


@flops(pool.PoolOp)
def _pool(op, ins, outs):
    return _size(ins[0]) * max(1, math.prod(op.pool_size) // math.prod(op.strides))


@flops(MatMul)
def _matmul(op, ins, outs):  # (..., m, k) @ (..., k, n): 2 m n k per batch
    k = ins[0].shape[-1] if ins[0].ndim else 1
    return 2 * _size(outs[0]) * (k or 0)


def node_flops(node, types: dict) -> int:
    ins = [types.get(t, t.type) for t in node.inputs]
    outs = [types.get(t, t.type) for t in node.outputs]
    try:
        return int(_rule(type(node.op))(node.op, ins, outs))
    except Exception:  # an estimate must never break a report
        return 0


def flops_of(schedule, types: dict) -> int:
    """Total FLOPs of running ``schedule`` on values of concrete ``types``."""
    return sum(node_flops(n, types) for n in schedule)
