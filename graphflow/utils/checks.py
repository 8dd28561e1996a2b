"""Checks kernels defer to the end of a call, so no kernel waits for the device.

A kernel that must validate data (an index out of range, say) cannot look at the values
without synchronising with the device. Instead it hands a 0-d boolean array ("something
is wrong") to ``defer``; the executor reads all of a call's flags in one transfer after
the last kernel, and raises the first failed check's error before any update is
committed. Constant folding collects the same way; outside both (a kernel called by hand
on NumPy arrays) the check runs at once.

    >>> bad = xp.any((indices < 0) | (indices >= depth))
    >>> defer(bad, "one_hot: index {} is outside [0, 10)", detail=indices.max())
"""
from __future__ import annotations

import threading

import numpy as np

_local = threading.local()


class CheckFailed(ValueError):
    """A value a kernel checked was out of its domain (the message says which and where)."""


def defer(flag, message: str, detail=None, error=CheckFailed) -> None:
    """Register ``flag`` (a 0-d bool array, True = failed) with ``message``, whose ``{}``
    is replaced by the host value of ``detail`` (a 0-d array) when the check fails; the
    failure raises ``error`` (e.g. ``IndexError`` for an index out of range)."""
    item = (flag, message, detail, error)
    pending = getattr(_local, "pending", None)
    if pending is None:
        _raise_if(item, np.asarray)  # only host arrays get here
    else:
        pending.append(item)


def start() -> list:
    """Begin collecting this thread's checks (the executor, before its first kernel)."""
    _local.pending = []
    return _local.pending


def finish(pending: list, to_host) -> None:
    """Stop collecting; raise ``CheckFailed`` for the first failed check."""
    _local.pending = None
    for item in pending:
        _raise_if(item, to_host)


def abandon() -> None:
    """Stop collecting without looking (the call failed for another reason)."""
    _local.pending = None


def _raise_if(item, to_host) -> None:
    flag, message, detail, error = item
    if bool(to_host(flag)):
        value = to_host(detail).item() if detail is not None else None
        raise error(message.format(value) if detail is not None else message)
