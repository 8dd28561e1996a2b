"""Concrete types for one call: static inference re-run with the fed shapes.

Every op's ``infer`` works on partially known types, so given the concrete types of the
placeholders it returns concrete types for everything downstream (``reshape_like`` and
friends take the concrete shape of their ``like`` input). An op whose result shape
depends on values keeps its ``None`` dims; an op that rejects the shapes keeps its static
type, and the kernel will raise the real error when it runs.
"""
from __future__ import annotations

import numpy as np

from ..graph import TensorType


def concrete_types(schedule, known: dict) -> dict:
    """``{tensor: TensorType}`` for every value of ``schedule``, given ``known`` types of
    sources (placeholders fed, variables, constants)."""
    types = dict(known)
    for node in schedule:
        ins = [types.get(t) or t.type for t in node.inputs]
        try:
            out = node.op.infer(*ins)
        except (ValueError, TypeError):  # the kernel will report it, with the user's line
            out = [o.type for o in node.outputs]
        outs = [out] if isinstance(out, TensorType) else list(out)
        for t, ty in zip(node.outputs, outs):
            types[t] = ty
    return types


def source_types(sources, feeds: dict | None = None) -> dict:
    """Types of sources: a placeholder takes its fed shape (``feeds``: ``{ph: shape}``)."""
    feeds = feeds or {}
    return {s: TensorType(s.dtype, tuple(feeds[s])) if s in feeds else s.type for s in sources}


def nbytes(t: TensorType):
    """Bytes of a value of concrete type ``t`` (None while a dim is unknown)."""
    n = t.size
    return None if n is None else n * np.dtype(t.dtype).itemsize
