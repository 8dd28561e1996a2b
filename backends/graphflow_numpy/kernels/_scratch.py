"""Work arrays that live only inside one kernel call, reused across calls, one set per
thread (a fresh multi-MB block per call costs more in page faults than the copy that
fills it), and the cutting of a batch into cache-sized work units.

    >>> buf = scratch(np, "cols", (64, 27), np.float32)     # valid until the next "cols" here
    >>> work_units(n=4, rows=10, row_bytes=100, budget=2500)  # 2 images of 10 rows fit
    [(0, 2, 0, 10), (2, 4, 0, 10)]
"""
from __future__ import annotations

import threading

import numpy as np

_local = threading.local()


def scratch(xp, slot: str, shape, dtype):
    """A ``shape`` array of ``dtype`` (uninitialised) from this thread's ``slot``; it stays
    valid until the next ``scratch`` call for the same slot on this thread."""
    pool = _local.__dict__.setdefault(id(xp), {})
    count = 1
    for d in shape:
        count *= int(d)
    nbytes = count * np.dtype(dtype).itemsize
    buf = pool.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = pool[slot] = xp.empty(max(nbytes, 1), xp.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def work_units(n: int, rows: int, row_bytes: int, budget: int, min_units: int = 1) -> list:
    """``(n0, n1, r0, r1)`` units covering ``n`` images of ``rows`` rows each, a unit's
    scratch (``row_bytes`` per row) within ``budget`` bytes where one row allows: several
    whole images per unit when they fit, else bands of rows of one image. At least
    ``min_units`` units when there are that many rows in all (so every thread gets work)."""
    if n == 0 or rows == 0:
        return []
    per_image = rows * row_bytes
    if per_image <= budget and n >= min_units:
        k = max(1, min(budget // max(per_image, 1), -(-n // min_units)))
        return [(a, min(a + k, n), 0, rows) for a in range(0, n, k)]
    bands = max(-(-per_image // budget), -(-min_units // n))
    bands = min(bands, rows)
    cuts = [rows * i // bands for i in range(bands + 1)]
    return [(i, i + 1, cuts[b], cuts[b + 1]) for i in range(n) for b in range(bands)]


def held_bytes() -> int:
    """Bytes of scratch this thread holds (every slot, every array library)."""
    return sum(buf.nbytes for pool in _local.__dict__.values() for buf in pool.values())
