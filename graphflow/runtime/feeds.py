"""Checking values fed to placeholders: clear messages, safe casts only."""
from __future__ import annotations

import numpy as np

from ..graph import FeedError, format_shape


def check_feed(ph, value, backend):
    """``value`` as a device array of ``ph``'s dtype, or a FeedError saying what is wrong.

    Numbers are cast to the placeholder's dtype when no information is lost in kind:
    float64 -> float32 (as Keras does), ints or bools -> floats, ints -> narrower ints whose
    range holds every value; floats -> ints and anything -> bool are refused.
    """
    xp = backend.xp
    if xp is not None and xp is not np and isinstance(value, getattr(xp, "ndarray", ())):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:  # ragged lists and the like
            raise FeedError(f"placeholder `{ph.name}` expects {ph.type}; could not read the value "
                            f"({type(value).__name__}): {exc}") from None
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise FeedError(f"placeholder `{ph.name}` expects {ph.dtype} numbers; got "
                        f"{type(value).__name__} of dtype {arr.dtype}")
    target = np.dtype(ph.dtype)
    if arr.dtype != target:
        if target.kind in "iu" and kind == "f" or target.kind == "b" and kind != "b":
            raise FeedError(f"placeholder `{ph.name}` expects {ph.dtype}; got {arr.dtype} "
                            f"(a lossy conversion: cast it yourself if you mean it)")
        if target.kind in "iu" and kind in "iu" and arr.size and not _fits(arr, target):
            raise FeedError(f"placeholder `{ph.name}` expects {ph.dtype}; got {arr.dtype} values in "
                            f"[{arr.min()}, {arr.max()}], which {ph.dtype} cannot hold")
        arr = arr.astype(target)
    if not ph.type.accepts(arr.shape):
        raise FeedError(f"placeholder `{ph.name}` expects shape {format_shape(ph.shape)}; "
                        f"got {format_shape(arr.shape)}")
    return backend.to_device(arr)


def _fits(arr, target) -> bool:
    if np.can_cast(arr.dtype, target, "safe"):
        return True
    info = np.iinfo(target)
    return int(arr.min()) >= info.min and int(arr.max()) <= info.max
