"""Checking values fed to placeholders: clear messages, safe casts only, the caller's
array never written.

What a feed may be: a NumPy array (any memory layout, read-only or not, any byte order),
a subclass of one (``np.matrix`` becomes a plain array), anything ``np.asarray`` reads as
numbers (nested lists, Python scalars, objects with ``__array__``), or an array of the
function's backend. What is refused, with a ``FeedError`` that names the placeholder:
masked arrays with masked entries (a mask has no meaning inside a graph), strings,
``None``, objects, ragged lists, Python ints beyond 64 bits, symbolic tensors, and every
lossy conversion (see ``check_feed``). NaN and Inf are values like any other: they are
fed as they are (``check_numerics`` is the tool that finds where they come from).

    >>> f(np.ones((2, 3)))          # float64 -> float32, as Keras does
    >>> f(np.ones((2, 3), "int8"))  # ints -> floats: exact
    >>> f(np.ones((2, 3)) > 0)      # FeedError: bool -> float32 is fine; float -> bool is not
"""
from __future__ import annotations

import numpy as np

from ..graph import FeedError, Tensor, format_shape

NUMERIC = "biufc"


def check_feed(ph, value, backend):
    """``value`` as a device array of ``ph``'s dtype, or a FeedError saying what is wrong.

    Numbers are cast to the placeholder's dtype when no information is lost in kind:
    float64 -> float32 (as Keras does; a finite value beyond float32's range is refused),
    ints or bools -> floats, ints -> narrower ints whose range holds every value, anything
    real -> complex; floats -> ints, complex -> reals and anything -> bool are refused.
    On the NumPy backend the array handed to the kernels is a read-only view when no cast
    was needed, so no kernel can write into the caller's memory.
    """
    xp = backend.xp
    on_device = xp is not None and xp is not np and isinstance(value, getattr(xp, "ndarray", ()))
    arr = value if on_device else _host_array(ph, value)
    target = np.dtype(ph.dtype)
    if not ph.type.accepts(arr.shape):
        raise FeedError(f"placeholder `{ph.name}` expects shape {format_shape(ph.shape)}; "
                        f"got {format_shape(arr.shape)}")
    if arr.dtype != target:
        arr = _cast(ph, arr, target)
    elif not on_device and (arr is value or arr.base is value):
        # (a device array has no read-only flag: CuPy's has no setflags; kernels never
        # write into a source, the memory plan only reuses intermediates)
        arr = arr.view()
        arr.setflags(write=False)  # (flags.writeable = False would fill a NumPy-internal cache)
    return backend.to_device(arr)


def _host_array(ph, value) -> np.ndarray:
    if isinstance(value, Tensor):
        raise FeedError(f"placeholder `{ph.name}` was fed the symbolic tensor `{value.name}`; feed a NumPy "
                        f"array (compute the tensor with gf.function first)")
    if isinstance(value, np.ma.MaskedArray) and np.ma.getmaskarray(value).any():
        raise FeedError(f"placeholder `{ph.name}` was fed a masked array with {int(np.ma.getmaskarray(value).sum())}"
                        f" masked entries; fill them first (value.filled(0)) or feed value.data")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 -- ragged lists, failing __array__, and the like
        raise FeedError(f"placeholder `{ph.name}` expects {ph.type}; could not read the value "
                        f"({type(value).__name__}) as an array: {exc}") from None
    if type(arr) is not np.ndarray:  # np.matrix and other subclasses keep their own rules
        arr = arr.view(np.ndarray)
    if arr.dtype.kind not in NUMERIC:
        why = " (None, strings, mixed types and ints beyond 64 bits are not numbers)" \
            if arr.dtype.kind == "O" else ""
        raise FeedError(f"placeholder `{ph.name}` expects {ph.dtype} numbers; got "
                        f"{type(value).__name__} of dtype {arr.dtype}{why}")
    return arr


def _cast(ph, arr, target) -> np.ndarray:
    kind, want = arr.dtype.kind, target.kind
    lossy = (want in "iu" and kind in "fc") or (want == "b" and kind != "b") or (want == "f" and kind == "c")
    if lossy:
        raise FeedError(f"placeholder `{ph.name}` expects {ph.dtype}; got {arr.dtype} "
                        f"(a lossy conversion: cast it yourself if you mean it)")
    if want in "iu" and kind in "iu" and arr.size and not _fits(arr, target):
        raise FeedError(f"placeholder `{ph.name}` expects {ph.dtype}; got {arr.dtype} values in "
                        f"[{arr.min().item()}, {arr.max().item()}], which {ph.dtype} cannot hold")
    with np.errstate(over="ignore"):
        out = arr.astype(target)
    if want in "fc" and kind != "b" and not np.can_cast(arr.dtype, target, "safe"):
        _check_range(ph, arr, out)
    return out


def _check_range(ph, arr, out):
    """A value too large for the placeholder's float type (1e300 for float32, 70000 for
    float16) would become Inf without a word: refuse it."""
    finite = np.isfinite(out)
    if finite.all():
        return
    grew = ~finite & np.isfinite(arr)
    if grew.any():
        worst = arr[grew].reshape(-1)[0].item()   # (no .flat: a device array may lack it)
        raise FeedError(f"placeholder `{ph.name}` expects {ph.dtype}; got {arr.dtype} values such as {worst!r} "
                        f"beyond {ph.dtype}'s range (they would become Inf)")


def _fits(arr, target) -> bool:
    if np.can_cast(arr.dtype, target, "safe"):
        return True
    info = np.iinfo(target)
    return int(arr.min()) >= info.min and int(arr.max()) <= info.max
