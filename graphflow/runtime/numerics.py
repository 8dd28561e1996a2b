"""``check_numerics``: stop at the first node whose output holds NaN or Inf.

    >>> f = gf.function([x], loss, check_numerics=True)     # or GRAPHFLOW_CHECK_NUMERICS=1
    >>> f(batch)
    NumericsError: log in scope `loss`, made at train.py:12 produced NaN (3 of 32 values);
    its inputs were finite (the op made them)

It runs a check after every kernel (one device-to-host read each), so it is for
debugging; when off, calls take the fast loop and it costs nothing.
"""
from __future__ import annotations

import os

from ..graph import Source


class NumericsError(FloatingPointError):
    """A node produced NaN or Inf while ``check_numerics`` was on."""


def numerics_default() -> bool:
    """Whether ``GRAPHFLOW_CHECK_NUMERICS`` asks for checking by default."""
    return os.environ.get("GRAPHFLOW_CHECK_NUMERICS", "") not in ("", "0")


def _bad_counts(backend, array):
    """``(nan count, inf count)`` of a float array (host ints), or None when all finite."""
    xp = backend.xp
    if not hasattr(array, "dtype") or array.dtype.kind not in "fc":
        return None
    if bool(backend.to_host(xp.all(xp.isfinite(array)))):
        return None
    nans = int(backend.to_host(xp.count_nonzero(xp.isnan(array))))
    return nans, int(array.size) - nans - int(backend.to_host(xp.count_nonzero(xp.isfinite(array))))


def _describe(nans, infs, size) -> str:
    parts = [f"{n} {what}" for n, what in ((nans, "NaN"), (infs, "Inf")) if n]
    return f"{' and '.join(parts)} (of {size} values)"


def numerics_watch(backend):
    """A ``watch(k, node, value, args, buf)`` for the executor that raises ``NumericsError``."""
    inputs_of = {}

    def watch(k, node, value, args, buf=None):
        if isinstance(value, tuple):  # a multi-output kernel: its picks are checked next
            inputs_of[node] = args
            return
        bad = _bad_counts(backend, value)
        if bad is None:
            return
        args = inputs_of.get(node, args)
        raise NumericsError(f"check_numerics: {node.where()} produced {_describe(*bad, value.size)}; "
                            f"{_inputs_note(backend, node, args)}")
    return watch


def _inputs_note(backend, node, args) -> str:
    notes = []
    for pos, (t, a) in enumerate(zip(node.inputs, args)):
        bad = _bad_counts(backend, a) if isinstance(t, Source) or t.node is not None else None
        if bad is not None:
            what = type(t).__name__.lower() if isinstance(t, Source) else "value"
            notes.append(f"input {pos} ({what} `{t.name}`) already held {_describe(*bad, a.size)}")
    return "; ".join(notes) if notes else "its inputs were finite (this op made the non-finite values)"


__all__ = ["NumericsError", "numerics_default", "numerics_watch"]
