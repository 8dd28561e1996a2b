"""Joining and splitting: ``concatenate``, ``stack``, ``split``, ``tile`` and ``pad``.

Each op's gradient is its dual: the gradient of a concatenation is a split (``SplitLike``
when a piece's length is only known at run time), of a split a concatenation, of a tile
the sum of its copies (``TileGrad``), of a padding the slice it surrounds (``PadGrad``
folds reflected or repeated borders back for the other modes).

    >>> h = gf.concatenate([a, b], axis=-1)
    >>> left, right = gf.split(x, 2, axis=1)
    >>> gf.pad(img, ((0, 0), (1, 1), (1, 1), (0, 0)))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..graph import Op, Tensor, TensorType, apply, constant, format_shape
from ..graph.dtypes import is_float, result_type
from ._util import as_int, as_ints, no_arithmetic, normalize_axis, operands, user_errors
from .indexing import getitem
from .shape import broadcast_like, expand_dims

PAD_MODES = ("constant", "reflect", "symmetric", "edge")
MAX_PIECES = 2**16  # outputs of one split: each is a node output, built at once


def _shapes(types) -> str:
    return ", ".join(format_shape(t.shape) for t in types)


@dataclass(frozen=True)
class Concatenate(Op):
    """y = the inputs joined along ``axis`` (all other axes equal; dtypes promote)"""
    flops = no_arithmetic
    views = ()  # kernels return fresh arrays

    axis: int

    def infer(self, *xs):
        if not xs:
            raise ValueError("concatenate needs at least one tensor")
        ndim = xs[0].ndim
        if ndim == 0 or any(t.ndim != ndim for t in xs):
            raise ValueError(f"concatenate needs tensors of one rank >= 1, got shapes {_shapes(xs)}")
        if not 0 <= self.axis < ndim:
            raise ValueError(f"concatenate: axis {self.axis} is out of range for rank {ndim}")
        shape = []
        for ax in range(ndim):
            dims = [t.shape[ax] for t in xs]
            if ax == self.axis:
                shape.append(None if None in dims else sum(dims))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ValueError(f"concatenate along axis {self.axis}: shapes {_shapes(xs)} differ in axis {ax}")
            shape.append(known.pop() if known else None)
        return TensorType(result_type(*[t.dtype for t in xs]), tuple(shape))

    def grad(self, inputs, outputs, gys):
        sizes = [t.shape[self.axis] for t in inputs]
        if None in sizes:
            pieces = apply(SplitLike(self.axis), [gys[0], *inputs])
        else:
            pieces = apply(Split(self.axis, tuple(int(i) for i in np.cumsum(sizes)[:-1])), [gys[0]])
        return list(pieces)


@dataclass(frozen=True)
class Split(Op):
    """ys = x cut along ``axis``: into ``points`` equal sections (an int), or at the sorted
    indices ``points`` (a tuple), as ``np.split``"""
    flops = no_arithmetic
    views = (0,)  # may return a view of (or the very) input 0

    axis: int
    points: object  # int | tuple[int, ...]

    def infer(self, x):
        if not 0 <= self.axis < x.ndim:
            raise ValueError(f"split: axis {self.axis} is out of range for rank {x.ndim}")
        dim = x.shape[self.axis]
        if isinstance(self.points, int):
            if self.points < 1:
                raise ValueError(f"split: the number of sections must be >= 1, got {self.points}")
            if dim is not None and dim % self.points:
                raise ValueError(f"split: axis {self.axis} of length {dim} does not divide into "
                                 f"{self.points} equal sections")
            sizes = [None if dim is None else dim // self.points] * self.points
        else:
            edges = (0,) + tuple(self.points) + ((dim,) if dim is not None else (None,))
            sizes = [None if dim is None else min(b, dim) - min(a, dim) for a, b in zip(edges, edges[1:])]
        return [TensorType(x.dtype, x.shape[:self.axis] + (n,) + x.shape[self.axis + 1:]) for n in sizes]

    def grad(self, inputs, outputs, gys):
        return [concatenate(gys, self.axis)]


@dataclass(frozen=True)
class SplitLike(Op):
    """ys = x cut along ``axis`` into pieces as long as each ``like`` input is along that
    axis at run time (the gradient of a concatenation with unknown lengths)"""
    flops = no_arithmetic
    views = (0,)  # may return a view of (or the very) input 0

    axis: int

    def infer(self, x, *likes):
        lens = [t.shape[self.axis] for t in likes]
        if x.shape[self.axis] is not None and None not in lens and sum(lens) != x.shape[self.axis]:
            raise ValueError(f"split_like: pieces of lengths {lens} do not make up axis {self.axis} of "
                             f"{format_shape(x.shape)}")
        return [TensorType(x.dtype, x.shape[:self.axis] + (n,) + x.shape[self.axis + 1:]) for n in lens]

    def grad(self, inputs, outputs, gys):
        return [concatenate(gys, self.axis)] + [None] * (len(inputs) - 1)


@dataclass(frozen=True)
class Tile(Op):
    """y = x repeated ``reps[i]`` times along each axis i (``np.tile``; one rep per axis)"""
    flops = no_arithmetic
    views = ()  # kernels return fresh arrays

    reps: tuple

    def infer(self, x):
        if len(self.reps) != x.ndim:
            raise ValueError(f"tile: {len(self.reps)} reps for a tensor of rank {x.ndim}")
        return TensorType(x.dtype, tuple(None if d is None else d * r for d, r in zip(x.shape, self.reps)))

    def grad(self, inputs, outputs, gys):
        x = inputs[0]
        if 0 in self.reps:  # x was not used at all
            return [broadcast_like(constant(0, gys[0].dtype), x)]
        return [TileGrad(self.reps)(gys[0])]


@dataclass(frozen=True)
class TileGrad(Op):
    """y = the sum of the ``reps`` tiles of g (the adjoint of ``Tile(reps)``; reps >= 1)"""
    views = ()  # kernels return fresh arrays

    reps: tuple

    def infer(self, g):
        shape = []
        for d, r in zip(g.shape, self.reps):
            if d is not None and d % r:
                raise ValueError(f"tile_grad: length {d} is not a multiple of {r} reps")
            shape.append(None if d is None else d // r)
        return TensorType(g.dtype, tuple(shape))

    def grad(self, inputs, outputs, gys):
        return [Tile(self.reps)(gys[0])]


@dataclass(frozen=True)
class Pad(Op):
    """y = x with ``paddings[i] = (before, after)`` entries added around axis i: the value
    ``constant_values``, or reflected / symmetric / edge copies (``np.pad`` modes)"""
    flops = no_arithmetic
    views = ()  # kernels return fresh arrays

    paddings: tuple
    mode: str = "constant"
    constant_values: float = 0

    def infer(self, x):
        if len(self.paddings) != x.ndim:
            raise ValueError(f"pad: {len(self.paddings)} (before, after) pairs for a tensor of rank {x.ndim}")
        if self.mode != "constant":
            for ax, (d, p) in enumerate(zip(x.shape, self.paddings)):
                if d == 0 and any(p):
                    raise ValueError(f"pad: cannot extend the empty axis {ax} in mode {self.mode!r}")
        return TensorType(x.dtype, _grown(x.shape, self.paddings, 1))

    def label(self):
        return f"pad({self.mode}, {self.paddings})"

    def grad(self, inputs, outputs, gys):
        if self.mode == "constant":
            return [getitem(gys[0], tuple(slice(lo, -hi if hi else None) for lo, hi in self.paddings))]
        return [PadGrad(self.paddings, self.mode)(gys[0])]


@dataclass(frozen=True)
class PadGrad(Op):
    """y = g with the padded borders added back onto the entries they copy (the adjoint of
    ``Pad(paddings, mode)`` for the modes that copy entries)"""
    views = (0,)  # may return a view of (or the very) input 0

    paddings: tuple
    mode: str

    def infer(self, g):
        shape = _grown(g.shape, self.paddings, -1)
        if any(d is not None and d < 0 for d in shape):
            raise ValueError(f"pad_grad: {format_shape(g.shape)} is smaller than its paddings {self.paddings}")
        return TensorType(g.dtype, shape)

    def grad(self, inputs, outputs, gys):
        return [Pad(self.paddings, self.mode)(gys[0])]


def _grown(shape, paddings, sign) -> tuple:
    return tuple(None if d is None else d + sign * (lo + hi) for d, (lo, hi) in zip(shape, paddings))


# ---------------------------------------------------------------- functional API
def _tensors(xs, what) -> list:
    if isinstance(xs, Tensor) or not isinstance(xs, (list, tuple)):
        raise TypeError(f"{what} takes a list of tensors, got {type(xs).__name__}")
    if not xs:
        raise ValueError(f"{what} needs at least one tensor")
    return operands(*xs)


@user_errors
def concatenate(xs, axis=0) -> Tensor:
    """Join tensors along an existing axis: ``gf.concatenate([a, b], axis=-1)``."""
    xs = _tensors(xs, "concatenate")
    if xs[0].ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    axis = normalize_axis(axis, xs[0].ndim)
    return xs[0] if len(xs) == 1 else Concatenate(axis)(*xs)


@user_errors
def stack(xs, axis=0) -> Tensor:
    """Join same-shaped tensors along a new axis: ``gf.stack([a, b])`` has shape (2, *a.shape)."""
    xs = _tensors(xs, "stack")
    first = xs[0]
    for t in xs[1:]:
        if t.ndim != first.ndim or any(a is not None and b is not None and a != b
                                       for a, b in zip(t.shape, first.shape)):
            raise ValueError(f"stack needs tensors of one shape, got {_shapes([u.type for u in xs])}")
    axis = normalize_axis(axis, first.ndim + 1)
    return concatenate([expand_dims(t, axis) for t in xs], axis)


@user_errors
def split(x, indices_or_sections, axis=0) -> list:
    """Cut ``x`` along ``axis`` (``np.split``): into n equal sections, or at sorted indices.

    >>> a, b, c = gf.split(x, [2, 5], axis=1)    # x[:, :2], x[:, 2:5], x[:, 5:]
    """
    (x,) = operands(x)
    if x.ndim == 0:
        raise ValueError("split needs a tensor of rank >= 1")
    axis = normalize_axis(axis, x.ndim)
    points = indices_or_sections
    if isinstance(points, (int, np.integer)) and not isinstance(points, (bool, np.bool_)):
        points = int(points)
        if points > MAX_PIECES:
            raise ValueError(f"split: {points} sections is more pieces than one node makes (at most {MAX_PIECES})")
    else:
        points = as_ints(points, "split indices")
        dim = x.shape[axis]
        if dim is not None:
            points = tuple(i + dim if i < 0 else i for i in points)
        if any(i < 0 for i in points) or list(points) != sorted(points):
            raise ValueError(f"split: indices must be sorted and >= 0 (negative ones only where the axis "
                             f"length is known), got {tuple(indices_or_sections)}")
    if points in (1, ()):
        return [x]
    return list(apply(Split(axis, points), [x]))


@user_errors
def tile(x, reps) -> Tensor:
    """Repeat ``x`` along each axis (``np.tile``): ``gf.tile(x, (1, 3))``."""
    (x,) = operands(x)
    reps = as_ints(reps, "tile reps")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be >= 0, got {reps}")
    for _ in range(len(reps) - x.ndim):
        x = expand_dims(x, 0)  # np.tile promotes x by prepending axes
    reps = (1,) * (x.ndim - len(reps)) + reps
    return x if all(r == 1 for r in reps) else Tile(reps)(x)


def _paddings(paddings, ndim) -> tuple:
    def pair(p):
        if isinstance(p, (int, np.integer)):
            return as_int(p, "a padding"), as_int(p, "a padding")
        lo, hi = p
        return as_int(lo, "a padding"), as_int(hi, "a padding")
    if isinstance(paddings, (str, bytes)):
        raise TypeError(f"pad: paddings must be ints or (before, after) pairs, got {paddings!r}")
    if isinstance(paddings, (int, np.integer)):
        pairs = [pair(paddings)] * max(ndim, 1)
    else:
        paddings = list(paddings)
        if len(paddings) == 2 and all(isinstance(p, (int, np.integer)) for p in paddings):
            pairs = [pair(paddings)] * max(ndim, 1)  # one (before, after) pair for every axis
        else:
            if len(paddings) != ndim:
                raise ValueError(f"pad: {len(paddings)} (before, after) pairs for a tensor of rank {ndim}")
            pairs = [pair(p) for p in paddings]
    if any(v < 0 for p in pairs for v in p):
        raise ValueError(f"pad: paddings must be >= 0, got {tuple(pairs)}")
    return tuple(pairs[:ndim])


@user_errors
def pad(x, paddings, mode="constant", constant_values=0) -> Tensor:
    """Pad ``x`` (``np.pad``): ``paddings`` is one int, one (before, after) pair, or a pair
    per axis; ``mode`` is ``"constant"``, ``"reflect"``, ``"symmetric"`` or ``"edge"``.

    >>> gf.pad(x, ((0, 0), (2, 2)))          # two zeros before and after each row
    """
    (x,) = operands(x)
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    paddings = _paddings(paddings, x.ndim)
    if not any(lo or hi for lo, hi in paddings):
        return x
    value = constant_values.item() if isinstance(constant_values, np.generic) else constant_values
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"pad: constant_values must be a number, got {constant_values!r}")
    if mode == "constant" and not is_float(x.dtype) and not math.isfinite(value):
        raise ValueError(f"pad: constant_values={value} has no {x.dtype} value")
    return Pad(paddings, mode, value if mode == "constant" else 0)(x)
