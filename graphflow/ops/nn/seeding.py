"""Where random ops get their seeds: one process-wide ``SeedSequence``.

A random op made without an explicit seed draws one here when the graph is built, so
``gf.set_random_seed(s)`` before building makes every later draw reproducible.

    >>> gf.set_random_seed(1234)
    >>> y = gf.nn.dropout(x, 0.5)        # its seed now follows from 1234
"""
from __future__ import annotations

import threading

import numpy as np

_lock = threading.Lock()
_root = [np.random.SeedSequence()]


def set_random_seed(seed=None) -> None:
    """Restart the seed stream from ``seed`` (an int >= 0; ``None`` = fresh OS entropy)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"set_random_seed needs an int >= 0 or None, got {seed!r}")
    with _lock:
        _root[0] = np.random.SeedSequence(None if seed is None else int(seed))


def draw_seed() -> int:
    """The next seed of the stream (a uint64 value as a Python int)."""
    with _lock:
        child = _root[0].spawn(1)[0]
    return int(child.generate_state(1, np.uint64)[0])
