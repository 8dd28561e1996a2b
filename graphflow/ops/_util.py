"""Helpers shared by op definitions: turning Python values into tensors, undoing
broadcasting in gradients, normalising axes."""
from __future__ import annotations

import functools

import numpy as np

from ..graph import DisconnectedError, FeedError, GraphError, NonDifferentiableError, Tensor, build_error, constant
from ..graph.dtypes import is_python_scalar, scalar_dtype_against


def as_tensor(x, like: Tensor | None = None) -> Tensor:
    """A Tensor for ``x``; a Python scalar takes its dtype from ``like`` (NEP 50 weak typing)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and is_python_scalar(x):
        dtype = scalar_dtype_against(x, like.dtype)
        try:
            return constant(x, dtype=dtype)
        except OverflowError:  # NumPy 2 refuses too: int8 tensor + 1000
            raise ValueError(f"the Python scalar {x!r} does not fit the {like.dtype} of the tensor "
                             f"it is combined with") from None
    return constant(x)


def no_arithmetic(op, in_types, out_types) -> int:
    """``Op.flops`` of ops that only move or view data: ``flops = no_arithmetic``."""
    return 0


_OURS = (GraphError, NonDifferentiableError, DisconnectedError, FeedError)  # already say where


def user_errors(fn):
    """Decorate a functional-API builder so that a bad argument (an axis out of range, a
    scalar that does not fit) is reported like an ``infer`` error: a ``GraphError`` naming
    the op, the scope, the user's ``file:line`` and the input types.

    >>> @user_errors
    ... def sum(x, axis=None): ...
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _OURS:
            raise
        except (ValueError, TypeError, IndexError) as exc:
            tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
            raise build_error(fn.__name__, exc, tensors) from None
    return wrapper


def operands(*xs) -> list[Tensor]:
    """Convert a mix of tensors and Python values; scalars are weak against the first tensor."""
    like = next((x for x in xs if isinstance(x, Tensor)), None)
    return [as_tensor(x, like) for x in xs]


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
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
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
