"""Running a fused element-wise group over cache-sized blocks, on every core.

A group of k steps over a large array makes k passes over memory when each step is one
NumPy call on the whole array. Cut into blocks of a few tens of thousands of elements, the
k passes of one block run while it is in L2, and the blocks are shared out between the
cores (NumPy releases the GIL inside its loops). Leading axes are merged where every input
either spans them exactly (and is contiguous) or is broadcast over all of them, so a
bias of shape (C,) and a batch tensor of shape (N, H, W, C) block as (N·H·W, C) rows.

    >>> view = block_view([x, bias], out)      # None: too small, or not blockable
    >>> rows, args, spans, out2 = view
"""
from __future__ import annotations

import math

from ._parallel import run_parts

BLOCK_ELEMENTS = 1 << 15   # elements of one block: its operands and temporaries stay in L2
MIN_ELEMENTS = 1 << 17     # smaller outputs run in one piece


def _lead_dims(a, nd, k):
    """``a``'s extents over the output's first ``k`` axes (None where ``a`` has no axis)."""
    lead = nd - a.ndim
    return [a.shape[i - lead] if i >= lead else None for i in range(k)]


def _mergeable(args, shape, k) -> bool:
    for a in args:
        dims = _lead_dims(a, len(shape), k)
        full = all(d == s for d, s in zip(dims, shape))
        if full and not (k == 1 or a.flags.c_contiguous):
            return False
        if not full and not all(d in (None, 1) for d in dims):
            return False
    return True


def block_view(args, out):
    """``(rows, args, spans, out)`` reshaped so that axis 0 of ``out`` (and of every input
    that spans it: ``spans[i]``) is the merged leading axes, or None when the group should
    run in one piece."""
    shape, nd = out.shape, out.ndim
    if nd == 0 or out.size < MIN_ELEMENTS or not out.flags.c_contiguous:
        return None
    k = next((k for k in range(nd, 0, -1) if _mergeable(args, shape, k)), 0)
    if not k:
        return None
    rows, inner = math.prod(shape[:k]), shape[k:]
    if rows <= 1:  # one row is one block: nothing to cut
        return None
    views, spans = [], []
    for a in args:
        lead = nd - a.ndim
        spans.append(lead == 0 and all(d == s for d, s in zip(a.shape[:k], shape)))
        if spans[-1]:
            views.append(a.reshape((rows,) + a.shape[k:]))
        else:  # broadcast over the merged axes: keep only its part over the inner ones
            views.append(a.reshape(a.shape[max(0, k - lead):]))
    return rows, views, spans, out.reshape((rows,) + inner)


def run_blocked(plan_for, rows, args, spans, out):
    """Run the group block by block (``plan_for(shapes)`` gives the generated code of one
    block shape), the blocks shared out over the cores; returns nothing (``out`` is filled)."""
    per = max(1, BLOCK_ELEMENTS // max(1, math.prod(out.shape[1:])))
    blocks = -(-rows // per)

    def part(lo, hi):
        for b in range(lo, hi):
            r0, r1 = b * per, min(rows, (b + 1) * per)
            sub = [a[r0:r1] if span else a for a, span in zip(args, spans)]
            plan = plan_for(tuple([s.shape for s in sub]))
            plan.fn(*sub, out[r0:r1], *plan.temps())

    run_parts(part, blocks, blas=False)
