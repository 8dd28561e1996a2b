"""Where random things get their seeds: one process-wide seed stream.

Everything random that is made without an explicit seed — dropout ops, Keras weight
initialisers, Keras Dropout layers, the order in which ``fit`` shuffles — takes a seed
from ``draw_seed()`` when it is built, so one call makes a whole run repeatable:

- after ``gf.set_random_seed(s)`` the stream is a ``SeedSequence`` rooted at ``s``:
  the n-th draw depends only on ``s`` and ``n`` (NumPy's global generator plays no part);
- until then (or after ``gf.set_random_seed(None)``) each draw comes from NumPy's global
  generator, so the Keras 2 habit ``np.random.seed(s)`` makes a run repeatable too.

    >>> gf.set_random_seed(1234)
    >>> y = gf.nn.dropout(x, 0.5)        # its seed now follows from 1234
"""
from __future__ import annotations

import threading

import numpy as np

_lock = threading.Lock()
_root: list = [None]  # a SeedSequence after set_random_seed(s); None: follow np.random


def set_random_seed(seed=None) -> None:
    """Restart the seed stream from ``seed`` (an int >= 0); ``None`` hands the stream back
    to NumPy's global generator (``np.random.seed`` then governs it, as in Keras 2).

    >>> gf.set_random_seed(0); a = gf.draw_seed()
    >>> gf.set_random_seed(0); a == gf.draw_seed()
    True
    """
    if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise ValueError(f"set_random_seed needs an int >= 0 or None, got {seed!r}")
    with _lock:
        _root[0] = None if seed is None else np.random.SeedSequence(int(seed))


def draw_seed() -> int:
    """The next seed of the stream, an int in [0, 2**64).

    >>> np.random.seed(7); a = gf.draw_seed()
    >>> np.random.seed(7); a == gf.draw_seed()      # no gf.set_random_seed: NumPy's stream
    True
    """
    with _lock:
        root = _root[0]
        if root is None:
            high, low = (int(v) for v in np.random.randint(0, 2**32, size=2, dtype=np.uint64))
            return high << 32 | low
        child = root.spawn(1)[0]
    return int(child.generate_state(1, np.uint64)[0])
