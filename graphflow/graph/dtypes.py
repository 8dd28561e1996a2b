"""Dtypes: names, kinds and NumPy-2 promotion (NEP 50: Python scalars are weak).

graphflow names a dtype by NumPy's string (``"float32"``). Promotion is NumPy's own,
asked of NumPy with empty arrays, so ``float32 + 2.0`` stays ``float32`` and
``int32 / int32`` is ``float64`` exactly as NumPy computes it.
"""
from __future__ import annotations

import numpy as np

_SCALARS = (bool, int, float, np.generic)


def as_dtype(dtype) -> str:
    """Normalise anything NumPy accepts as a dtype to its name: ``as_dtype(np.float32) == "float32"``."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"not a dtype: {dtype!r}") from exc
    if dt.kind not in "biufc":
        raise TypeError(f"graphflow tensors hold numbers or booleans, not {dt.name!r}")
    return dt.name


def is_float(dtype: str) -> bool:
    return np.dtype(dtype).kind in "fc"


def is_integer(dtype: str) -> bool:
    return np.dtype(dtype).kind in "iu"


def is_bool(dtype: str) -> bool:
    return np.dtype(dtype).kind == "b"


def is_python_scalar(value) -> bool:
    return isinstance(value, (bool, int, float)) and not isinstance(value, np.generic)


def scalar_dtype_against(value, other_dtype: str) -> str:
    """The dtype a Python scalar takes when combined with a tensor of ``other_dtype`` (NEP 50)."""
    return np.result_type(np.empty(0, other_dtype), value).name


def ufunc_result(ufunc, *dtypes: str) -> tuple[str, ...]:
    """Output dtype(s) NumPy gives ``ufunc`` for inputs of these dtypes."""
    out = ufunc(*[np.empty(0, d) for d in dtypes])
    outs = out if isinstance(out, tuple) else (out,)
    return tuple(o.dtype.name for o in outs)


def result_type(*dtypes: str) -> str:
    return np.result_type(*[np.dtype(d) for d in dtypes]).name


def default_float(dtype: str) -> str:
    """The float dtype an integer/bool computation produces in NumPy (mean, sqrt...)."""
    return dtype if is_float(dtype) else "float64"
