"""FLOP estimates of a schedule. Each op declares its own arithmetic (``Op.flops``); this
module only applies it to the concrete types of one call.

    >>> flops_of(schedule, types)     # for concrete types of one call
"""
from __future__ import annotations


def node_flops(node, types: dict) -> int:
    """FLOPs of one node for the concrete ``types`` (``{tensor: TensorType}``)."""
    ins = [types.get(t, t.type) for t in node.inputs]
    outs = [types.get(t, t.type) for t in node.outputs]
    return int(node.op.flops(ins, outs))


def flops_of(schedule, types: dict) -> int:
    """Total FLOPs of running ``schedule`` on values of concrete ``types``."""
    return sum(node_flops(n, types) for n in schedule)
