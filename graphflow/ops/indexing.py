"""Indexing: basic NumPy indexing (``x[1, ::-2, None, ...]``) and gathering along an axis
(``gf.take``), each with its dual that carries gradients back.

- ``GetItem(key)``: ints, slices (any step, negative too), ``None`` (new axis) and
  ``...``; the key is stored expanded and hashable (a slice is a ``(start, stop, step)``
  tuple). Its gradient ``GetItemGrad`` writes the incoming gradient into zeros shaped as
  the input at run time.
- ``Gather(axis)``: ``np.take(x, indices, axis)`` with an integer index tensor; its
  gradient ``GatherGrad`` adds the incoming rows into zeros (repeated indices add up).
  Indices get no gradient.

``x[idx]`` with one integer array or tensor (the other entries plain ``:`` or ``...``)
is a gather on that axis, as in NumPy.

    >>> x[:, 1:-1:2]
    >>> gf.take(embeddings, word_ids, axis=0)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..graph import Constant, Op, Tensor, TensorType, constant, format_shape
from ..graph.dtypes import is_bool, is_integer
from ._util import as_tensor, no_arithmetic, normalize_axis, operands, user_errors

_FULL = (None, None, 1)  # the key entry of a plain ``:``


def _slice_len(entry: tuple, dim):
    return None if dim is None else len(range(*slice(*entry).indices(dim)))


@dataclass(frozen=True)
class GetItem(Op):
    """y = x[key] (NumPy basic indexing); ``key`` entries: int, ``None`` (new axis) or a
    ``(start, stop, step)`` slice, one per axis of x plus the new axes"""
    flops = no_arithmetic
    views = (0,)  # may return a view of (or the very) input 0

    name: ClassVar[str] = "getitem"
    key: tuple

    def infer(self, x):
        used = sum(e is not None for e in self.key)
        if used != x.ndim:
            raise ValueError(f"getitem: the key indexes {used} axes but the tensor has {x.ndim}")
        shape, axis = [], 0
        for e in self.key:
            if e is None:
                shape.append(1)
                continue
            dim = x.shape[axis]
            if isinstance(e, tuple):
                shape.append(_slice_len(e, dim))
            elif dim is not None and not -dim <= e < dim:
                raise ValueError(f"getitem: index {e} is out of bounds for axis {axis} with size {dim}")
            axis += 1
        return TensorType(x.dtype, tuple(shape))

    def label(self):
        return f"getitem[{format_key(self.key)}]"

    def grad(self, inputs, outputs, gys):
        return [GetItemGrad(self.key)(gys[0], inputs[0])]


@dataclass(frozen=True)
class GetItemGrad(Op):
    """y = zeros shaped as ``like`` (at run time), with y[key] = g: the adjoint of
    ``GetItem(key)``"""
    views = ()  # kernels return fresh arrays

    name: ClassVar[str] = "getitem_grad"
    key: tuple

    def infer(self, g, like):
        _check_fits(g, GetItem(self.key).infer(like).shape)
        return TensorType(g.dtype, like.shape)

    def label(self):
        return f"getitem_grad[{format_key(self.key)}]"

    def grad(self, inputs, outputs, gys):
        return [GetItem(self.key)(gys[0]), None]


def _check_fits(g, shape):
    """A gradient must have the shape of the forward result it flows back from."""
    if g.ndim != len(shape) or any(a is not None and b is not None and a != b for a, b in zip(g.shape, shape)):
        raise ValueError(f"gradient of shape {format_shape(g.shape)} for a result of shape {format_shape(shape)}")


def format_key(key) -> str:
    """``(1, (None, None, -1), None)`` -> ``'1, ::-1, None'``."""
    def one(e):
        if isinstance(e, tuple):
            start, stop, step = ("" if v is None else str(v) for v in e)
            return f"{start}:{stop}" + ("" if step == "1" else f":{step}")
        return str(e)
    return ", ".join(one(e) for e in key)


@dataclass(frozen=True)
class Gather(Op):
    """y = take(x, indices, axis): y[..., i..., ...] = x[..., indices[i...], ...]; shape
    x.shape[:axis] + indices.shape + x.shape[axis+1:]"""
    views = ()  # kernels return fresh arrays

    axis: int

    def infer(self, x, indices):
        if not is_integer(indices.dtype):
            raise TypeError(f"take: indices must be integers, got {indices.dtype}")
        if not 0 <= self.axis < x.ndim:
            raise ValueError(f"take: axis {self.axis} is out of range for a tensor of rank {x.ndim}")
        return TensorType(x.dtype, x.shape[:self.axis] + indices.shape + x.shape[self.axis + 1:])

    def grad(self, inputs, outputs, gys):
        x, indices = inputs
        return [GatherGrad(self.axis)(gys[0], indices, x), None]


@dataclass(frozen=True)
class GatherGrad(Op):
    """y = zeros shaped as ``like`` (at run time), then y[..., indices[i...], ...] +=
    g[..., i..., ...]: the adjoint of ``Gather(axis)`` (a scatter-add)"""
    views = ()  # kernels return fresh arrays

    axis: int

    def infer(self, g, indices, like):
        _check_fits(g, Gather(self.axis).infer(like, indices).shape)
        return TensorType(g.dtype, like.shape)

    def grad(self, inputs, outputs, gys):
        return [Gather(self.axis)(gys[0], inputs[1]), None, None]


# ---------------------------------------------------------------- keys
def _is_array_index(e) -> bool:
    return isinstance(e, (Tensor, list, np.ndarray))


def _entry(e, axis: int, dim):
    """One key entry in stored form (checks types and, where the length is known, bounds)."""
    if isinstance(e, slice):
        parts = []
        for v in (e.start, e.stop, e.step):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
                raise TypeError(f"slice bounds must be ints or None, got {e}")
            parts.append(None if v is None else int(v))
        if parts[2] == 0:
            raise ValueError("slice step cannot be zero")
        parts[2] = 1 if parts[2] is None else parts[2]
        return tuple(parts)
    if isinstance(e, (int, np.integer)) and not isinstance(e, (bool, np.bool_)):
        e = int(e)
        if dim is not None:
            if not -dim <= e < dim:
                raise IndexError(f"index {e} is out of bounds for axis {axis} with size {dim}")
            e %= dim  # x[-1] and x[n-1] become one node
        return e
    raise TypeError(f"unsupported index {e!r} ({type(e).__name__}); use ints, slices, None, ..., "
                    f"or one integer array/tensor (a gather, see gf.take)")


def normalize_key(key, shape) -> tuple:
    """The stored form of a basic-indexing ``key`` for a tensor of static ``shape``:
    ``...`` expanded, trailing axes filled with ``:``, slices as tuples."""
    key = key if isinstance(key, tuple) else (key,)
    if sum(e is Ellipsis for e in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(e is not None and e is not Ellipsis for e in key)
    if used > len(shape):
        raise IndexError(f"too many indices: {used} for a tensor of rank {len(shape)}")
    fill = [slice(None)] * (len(shape) - used)
    at = next((i for i, e in enumerate(key) if e is Ellipsis), None)
    if at is not None:
        key = key[:at] + tuple(fill) + key[at + 1:]
    else:
        key = key + tuple(fill)
    out, axis = [], 0
    for e in key:
        if e is None:
            out.append(None)
            continue
        out.append(_entry(e, axis, shape[axis]))
        axis += 1
    return tuple(out)


def _index_tensor(indices) -> Tensor:
    if isinstance(indices, Tensor):
        return indices
    arr = np.asarray(indices)
    if arr.size == 0 and not is_integer(arr.dtype.name):
        arr = arr.astype(np.int64)  # [] is float64 to NumPy
    return as_tensor(arr)


# ---------------------------------------------------------------- functional API
@user_errors
def getitem(x, key) -> Tensor:
    """NumPy indexing: ``x[0]``, ``x[:, ::-1]``, ``x[..., None]``, ``x[idx]`` (a gather).

    >>> x[1:, ::2].shape      # for x of shape (4, 6)
    (3, 3)
    """
    (x,) = operands(x)
    key = key if isinstance(key, tuple) else (key,)
    arrays = [i for i, e in enumerate(key) if _is_array_index(e)]
    if arrays:
        return _gather_key(x, key, arrays)
    stored = normalize_key(key, x.shape)
    if all(e == _FULL for e in stored):
        return x
    return GetItem(stored)(x)


def _gather_key(x, key, arrays) -> Tensor:
    """``x[..., idx, :]``: one integer index array, every other entry ``:`` or ``...``."""
    pos = arrays[0]
    for i in arrays:
        e = key[i]
        if is_bool(e.dtype if isinstance(e, Tensor) else np.asarray(e).dtype.name):
            raise TypeError("boolean masks select a data-dependent number of elements; use gf.where")
    plain = all(i == pos or e is Ellipsis or (isinstance(e, slice) and e == slice(None))
                for i, e in enumerate(key))
    if len(arrays) > 1 or not plain:
        raise TypeError("getitem supports one integer array/tensor index whose other entries are ':' or "
                        "'...'; index in steps (x[idx][:, 1:]) or use gf.take")
    ellipsis = [i for i, e in enumerate(key) if e is Ellipsis]
    n_axes = len(key) - len(ellipsis)
    if n_axes > x.ndim:
        raise IndexError(f"too many indices: {n_axes} for a tensor of rank {x.ndim}")
    # an ellipsis before the index stands for the axes no entry names
    axis = pos + (x.ndim - len(key) if ellipsis and ellipsis[0] < pos else 0)
    return take(x, key[pos], axis)


@user_errors
def take(x, indices, axis=0) -> Tensor:
    """Pick entries along ``axis`` by integer ``indices`` (``np.take``; negative indices
    count from the end): ``gf.take(embeddings, ids)`` -> shape ids.shape + (dim,).

    The gradient adds each output row into the row it came from; indices get none.
    """
    (x,) = operands(x)
    if x.ndim == 0:
        raise ValueError("take needs a tensor of rank >= 1")
    axis = normalize_axis(axis, x.ndim)
    indices = _index_tensor(indices)
    if not is_integer(indices.dtype):
        raise TypeError(f"take: indices must be integers, got {indices.dtype}")
    dim = x.shape[axis]
    if isinstance(indices, Constant) and dim is not None and indices.value.size:
        bad = indices.value[(indices.value < -dim) | (indices.value >= dim)]
        if bad.size:
            raise IndexError(f"take: index {int(bad[0])} is out of bounds for axis {axis} with size {dim}")
    return Gather(axis)(x, indices)


gather = take
