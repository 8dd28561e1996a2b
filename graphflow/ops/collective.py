"""Collective ops: values exchanged between the processes (ranks) of a data-parallel job.

They are ordinary ops in the graph — drawn in SVGs, counted in ``f.report()``, scheduled
by the compiler — but they declare ``collective = True``: two equal calls are two
exchanges, and the result depends on what the other ranks feed, so the compiler never
merges or constant-folds them. Every rank must run the same collectives in the same
order; ``graphflow.distributed`` checks that at run time. The kernels (in each backend)
do the exchange with MPI through ``graphflow.distributed``.

Gradients treat the job as one computation whose loss is the *sum of every rank's loss*:
the gradient of a sum all-reduce is the sum all-reduce of the output gradients, the
gradient of a broadcast is the sum of the output gradients reduced onto the root, and the
gradient of an all-gather is each rank's slice of the summed output gradients.

    >>> from graphflow import distributed as dist
    >>> y = dist.allreduce(x, op="mean")            # the mean of x over the ranks
    >>> a, b = dist.allreduce([ga, gb], op="sum")   # fused: one exchange for both
"""
from __future__ import annotations

from dataclasses import dataclass

from ..graph import GraphError, NonDifferentiableError, Op, Tensor, TensorType, user_site
from ..graph.dtypes import is_float

REDUCTIONS = ("mean", "sum", "max", "min")
_ALIASES = {"average": "mean", "avg": "mean"}


def _same_dtype(xs, what) -> None:
    if not xs:
        raise ValueError(f"{what} needs at least one tensor")
    dtypes = sorted({t.dtype for t in xs})
    if len(dtypes) > 1:
        raise TypeError(f"one fused {what} carries one dtype; got {', '.join(dtypes)} "
                        f"(the functional API groups a list by dtype for you)")


def _check_root(root) -> None:
    if not isinstance(root, int) or isinstance(root, bool) or root < 0:
        raise ValueError(f"root must be a rank (an int >= 0), got {root!r}")


@dataclass(frozen=True)
class Collective(Op):
    """Base class of the ops that communicate with the other ranks."""

    collective = True
    views = ()  # the kernels return new arrays (a packed buffer's views), never an input

    def label(self):
        return self.op_name()


@dataclass(frozen=True)
class Allreduce(Collective):
    """``y_i = reduce over ranks of x_i`` for every input ``x_i`` (one exchange for all
    of them: the kernel packs them into one buffer, as Horovod's tensor fusion does).
    ``reduction`` is ``mean``, ``sum``, ``max`` or ``min``; ``mean`` needs floats.
    Gradient (mean/sum): the same all-reduce of the output gradients."""

    reduction: str = "mean"

    def infer(self, *xs):
        if self.reduction not in REDUCTIONS:
            raise ValueError(f"op must be one of {REDUCTIONS}, got {self.reduction!r}")
        _same_dtype(xs, "allreduce")
        if xs[0].dtype == "bool":
            raise TypeError("allreduce of booleans: cast to int32 first (op='max' is any, 'min' is all)")
        if self.reduction == "mean" and not is_float(xs[0].dtype):
            raise TypeError(f"op='mean' needs a float tensor, got {xs[0].dtype} (use op='sum')")
        return list(xs)

    def grad(self, inputs, outputs, gys):
        if self.reduction not in ("mean", "sum"):
            raise NonDifferentiableError(f"allreduce(op={self.reduction!r}) has no gradient")
        return _as_list(Allreduce(self.reduction)(*gys))

    def label(self):
        return f"allreduce({self.reduction})"


@dataclass(frozen=True)
class _Rooted(Collective):
    """A collective with a root rank, on tensors of one dtype (types unchanged)."""

    root: int = 0

    def infer(self, *xs):
        _check_root(self.root)
        _same_dtype(xs, self.op_name())
        return list(xs)

    def label(self):
        return f"{self.op_name()}(root={self.root})"


@dataclass(frozen=True)
class Broadcast(_Rooted):
    """``y_i = x_i`` of rank ``root`` on every rank (the inputs go as one message).
    Gradient: the sum of every rank's output gradient, on the root; zero elsewhere."""

    def grad(self, inputs, outputs, gys):
        return _as_list(Reduce(self.root)(*gys))


@dataclass(frozen=True)
class Reduce(_Rooted):
    """``y_i = sum over ranks of x_i`` on rank ``root``; zeros on the other ranks (the
    gradient of ``Broadcast``). Gradient: the broadcast of the root's output gradient."""

    def grad(self, inputs, outputs, gys):
        return _as_list(Broadcast(self.root)(*gys))


@dataclass(frozen=True)
class Allgather(Collective):
    """``y = concatenate([x of rank 0, x of rank 1, ...], axis=0)``: the first dimension
    may differ between ranks (so the result's is unknown until run time); the others
    must agree. Gradient: this rank's rows of the summed output gradients."""

    def infer(self, x):
        if x.ndim == 0:
            raise ValueError("allgather concatenates along axis 0: give it a tensor of rank >= 1 "
                             "(reshape a scalar to (1,))")
        return TensorType(x.dtype, (None,) + tuple(x.shape[1:]))

    def grad(self, inputs, outputs, gys):
        return [ReduceScatter()(gys[0], inputs[0])]


@dataclass(frozen=True)
class ReduceScatter(Collective):
    """Inputs ``(g, like)``: the sum over ranks of ``g`` (the rows of every rank's
    ``like`` stacked in rank order, as ``Allgather`` makes them), of which each rank
    keeps its own rows — a ``like``-shaped result. The gradient of ``Allgather``."""

    def infer(self, g, like):
        if g.dtype != like.dtype or g.ndim != like.ndim or g.ndim == 0:
            raise TypeError(f"reduce_scatter needs g and like of one dtype and rank >= 1, got {g} and {like}")
        return like

    def grad(self, inputs, outputs, gys):
        return [Allgather()(gys[0]), None]


def _as_list(out) -> list:
    return out if isinstance(out, list) else [out]


def _tensors(x, what) -> tuple[list, bool]:
    """``(tensors, given_as_list)``; refuses anything that is not a Tensor."""
    single = isinstance(x, Tensor)
    xs = [x] if single else list(x) if isinstance(x, (list, tuple)) else None
    if xs is None or any(not isinstance(t, Tensor) for t in xs):
        raise GraphError(f"{what}: expected a graphflow Tensor or a list of them, got {type(x).__name__} "
                         f"(made at {user_site()})")
    return xs, single


def _fused(op_for, xs, name):
    """Apply ``op_for(dtype)`` once per dtype group of ``xs``; results in ``xs``' order."""
    results: dict = {}
    for dtype in dict.fromkeys(t.dtype for t in xs):
        group = [i for i, t in enumerate(xs) if t.dtype == dtype]
        outs = _as_list(op_for(dtype)(*[xs[i] for i in group], name=name))
        results.update(zip(group, outs))
    return [results[i] for i in range(len(xs))]


def allreduce(x, op="mean", name=None):
    """The mean (``op="mean"``), ``"sum"``, ``"max"`` or ``"min"`` of ``x`` over all ranks.
    ``x`` may be a list of tensors: they are reduced together, one exchange per dtype.

    >>> mean_loss = allreduce(loss)                 # the same value on every rank
    """
    op = _ALIASES.get(op, op)
    if op not in REDUCTIONS:
        raise GraphError(f"allreduce: op must be one of {REDUCTIONS}, got {op!r} (at {user_site()})")
    xs, single = _tensors(x, "allreduce")
    ys = _fused(lambda dtype: Allreduce(op), xs, name)
    return ys[0] if single else ys


def broadcast(x, root=0, name=None):
    """Rank ``root``'s value of ``x`` (a tensor or a list of them) on every rank.

    >>> w0 = broadcast(w, root=0)
    """
    xs, single = _tensors(x, "broadcast")
    ys = _fused(lambda dtype: Broadcast(root), xs, name)
    return ys[0] if single else ys


def allgather(x, name=None):
    """Every rank's ``x`` concatenated along axis 0, in rank order; the first dimension
    may differ between ranks.

    >>> all_preds = allgather(preds)                # (sum of the ranks' batch sizes, ...)
    """
    xs, single = _tensors(x, "allgather")
    if not single:
        return [Allgather()(t, name=name) for t in xs]
    return Allgather()(xs[0], name=name)
