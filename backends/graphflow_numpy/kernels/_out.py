"""Helpers every kernel module shares: delivering a result into a planned buffer."""
from __future__ import annotations


def deliver(result, out):
    """``result`` written into the planned buffer ``out`` when there is one (and ``out``
    returned), else ``result`` itself."""
    if out is None:
        return result
    out[...] = result
    return out
