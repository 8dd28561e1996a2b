"""Kernels of concatenate / split / tile / pad and their duals, and of ``flatten``."""
import numpy as np

from graphflow.ops import joining as jn
from graphflow.ops import shape as sh

from ..table import KERNELS


def _outputs(pieces):
    """A tuple for several outputs; a node with one output takes the array itself."""
    return tuple(pieces) if len(pieces) != 1 else pieces[0]


@KERNELS.register(jn.Concatenate, writes_out=True)
def concatenate(op, node, xp):
    axis, dtype = op.axis, node.outputs[0].dtype

    def run(*xs, out=None):
        return xp.concatenate(xs, axis=axis, out=out, dtype=None if out is not None else dtype)
    return run


@KERNELS.register(jn.Split)
def split(op, node, xp):
    axis = op.axis
    points = op.points if isinstance(op.points, int) else list(op.points)
    return lambda x, out=None: _outputs(xp.split(x, points, axis=axis))


@KERNELS.register(jn.SplitLike)
def split_like(op, node, xp):
    axis = op.axis

    def run(x, *likes, out=None):
        pieces, start, lead = [], 0, (slice(None),) * axis
        for like in likes:
            stop = start + like.shape[axis]
            pieces.append(x[lead + (slice(start, stop),)])
            start = stop
        return _outputs(pieces)
    return run


@KERNELS.register(jn.Tile)
def tile(op, node, xp):
    return lambda x, out=None: xp.tile(x, op.reps)


@KERNELS.register(jn.TileGrad, writes_out=True)
def tile_grad(op, node, xp):
    reps, dtype = op.reps, node.outputs[0].dtype
    rep_axes = tuple(range(0, 2 * len(reps), 2))

    def run(g, out=None):
        # (r0*d0, r1*d1, ...) -> (r0, d0, r1, d1, ...): each tile copy indexed by the r axes
        split_shape = [n for r, d in zip(reps, g.shape) for n in (r, d // r)]
        return xp.sum(g.reshape(split_shape), axis=rep_axes, dtype=dtype, out=out)
    return run


@KERNELS.register(jn.Pad)
def pad(op, node, xp):
    extra = {"constant_values": op.constant_values} if op.mode == "constant" else {}
    return lambda x, out=None: xp.pad(x, op.paddings, mode=op.mode, **extra)


@KERNELS.register(jn.PadGrad)
def pad_grad(op, node, xp):
    dtype = node.outputs[0].dtype
    sources = {}  # (axis, length) -> where each padded position copies from, on the device

    def source(axis, n, lo, hi):
        key = (axis, n)
        if key not in sources:  # once per shape: the pad of 0..n-1 by the same rule
            sources[key] = xp.asarray(np.pad(np.arange(n), (lo, hi), mode=op.mode))
        return sources[key]

    def run(g, out=None):
        for axis, (lo, hi) in enumerate(op.paddings):
            if not (lo or hi):
                continue
            n = g.shape[axis] - lo - hi
            folded = xp.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1:], dtype)
            xp.add.at(xp.moveaxis(folded, axis, 0), source(axis, n, lo, hi), xp.moveaxis(g, axis, 0))
            g = folded
        return g
    return run


@KERNELS.register(sh.Flatten)
def flatten(op, node, xp):
    def run(x, out=None):
        rest = 1
        for d in x.shape[1:]:
            rest *= d
        return xp.reshape(x, (x.shape[0], rest))
    return run
