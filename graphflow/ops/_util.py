"""Helpers shared by op definitions: turning Python values into tensors, undoing
broadcasting in gradients, normalising axes."""
from __future__ import annotations

import functools
from collections.abc import Sequence
import threading

import numpy as np

from ..graph import DisconnectedError, FeedError, GraphError, NonDifferentiableError, Tensor, build_error, constant
from ..graph.dtypes import is_python_scalar, scalar_dtype_against


def as_tensor(x, like: Tensor | None = None) -> Tensor:
    """A Tensor for ``x``; a Python scalar takes its dtype from ``like`` (NEP 50 weak typing).
    A value that makes no numeric array (None, a string, a ragged list) is a ``TypeError``."""
    if isinstance(x, Tensor):
        return x
    if like is not None and is_python_scalar(x):
        dtype = scalar_dtype_against(x, like.dtype)
        try:
            return constant(x, dtype=dtype)
        except OverflowError:  # NumPy 2 refuses too: int8 tensor + 1000
            raise ValueError(f"the Python scalar {x!r} does not fit the {like.dtype} of the tensor "
                             f"it is combined with") from None
    try:
        return constant(x)
    except (GraphError, OverflowError) as exc:
        detail = str(exc).removeprefix("constant: ")
        raise TypeError(f"expected a tensor or an array of numbers, got {_brief(x)} ({detail})") from None


def _brief(x) -> str:
    text = repr(x)
    return f"{type(x).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def no_arithmetic(op, in_types, out_types) -> int:
    """``Op.flops`` of ops that only move or view data: ``flops = no_arithmetic``."""
    return 0


_OURS = (GraphError, NonDifferentiableError, DisconnectedError, FeedError)  # already say where
_depth = threading.local()  # how many builders are running on this thread (composites nest)


def user_errors(fn):
    """Decorate a functional-API builder so that a bad argument (an axis out of range, a
    scalar that does not fit) is reported like an ``infer`` error: a ``GraphError`` naming
    the op, the scope, the user's ``file:line`` and the input types. When a composite
    (``dot``, a loss) fails inside another builder, the error also names the one the
    user called: ``dot: matmul, made at net.py:7: ...``.

    >>> @user_errors
    ... def sum(x, axis=None): ...
    """
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        depth = getattr(_depth, "n", 0)
        _depth.n = depth + 1
        try:
            return fn(*args, **kwargs)
        except _OURS as exc:
            if depth or str(exc).startswith(name):
                raise
            raise type(exc)(f"{name}: {exc}") from None
        except (ValueError, TypeError, IndexError, OverflowError) as exc:
            tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
            raise build_error(name, exc, tensors) from None
        finally:
            _depth.n = depth
    return wrapper


def operands(*xs) -> list[Tensor]:
    """Convert a mix of tensors and Python values; scalars are weak against the first tensor."""
    like = next((x for x in xs if isinstance(x, Tensor)), None)
    return [as_tensor(x, like) for x in xs]


def as_int(value, what: str) -> int:
    """``value`` as a Python int; floats, bools and strings are refused as NumPy refuses
    them in shapes (``2.5`` is no length, and neither is ``True``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {value!r} ({type(value).__name__})")
    return int(value)


def as_bool(value, what: str) -> bool:
    """``value`` as a bool: ``True``/``False`` (or NumPy's, or the ints 0 and 1); anything
    else is refused rather than read by its truthiness (``"no"`` is true to Python)."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{what} must be True or False, got {value!r}")


def as_float(value, what: str) -> float:
    """``value`` (a real number, not a bool or a string) as a Python float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a number, got {value!r} ({type(value).__name__})")
    return float(value)


def as_ints(values, what: str) -> tuple:
    """An int or a sequence of ints as a tuple of Python ints (see ``as_int``)."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, (bool, np.bool_)):
        return (int(values),)
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{what} must be an int or a sequence of ints, got {values!r}")
    return tuple(as_int(v, f"each entry of {what}") for v in values)


def normalize_axis(axis, ndim: int, what: str = "axis") -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{what} must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what} {axis} is out of range for a tensor of rank {ndim}")
    return int(axis) % ndim


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    """``None`` -> all axes; an int or a tuple -> sorted non-negative axes (no repeats)."""
    if axis is None:
        return tuple(range(ndim))
    axes = as_ints(axis, "axis")
    out = tuple(sorted({normalize_axis(a, ndim) for a in axes}))
    if len(out) != len(axes):
        raise ValueError(f"repeated axis in {axis}")
    return out


def unbroadcast(g: Tensor, target: Tensor) -> Tensor:
    """Sum a gradient ``g`` over the axes along which ``target`` was broadcast, so the
    result has ``target``'s shape. The one place broadcasting is undone for every op."""
    from . import reductions, shape
    if g.shape == target.shape and None not in g.shape:
        return g
    lead = g.ndim - target.ndim
    axes = list(range(lead))
    ambiguous = False
    for i, td in enumerate(target.shape):
        gd = g.shape[lead + i]
        if td == 1 and gd != 1:
            axes.append(lead + i)
        elif td is None:
            ambiguous = True  # may be 1 (broadcast) at run time: decide there
    if ambiguous:
        return shape.sum_like(g, target)
    if axes:
        g = reductions.sum(g, tuple(axes), keepdims=True)
    if g.shape != target.shape:
        g = shape.reshape(g, tuple(d for d in target.shape))
    return g
