"""Loop: the one op behind ``gf.scan``, ``gf.while_loop`` and every loop's gradient.

Inputs, in order: the trip count (an int scalar, only when ``dynamic_steps``), the
sequences, the initial values of the carried outputs, the invariant values. Iteration
``t`` (``0 .. T-1``, or ``T-1 .. 0`` when ``reverse``) runs ``body`` on: slice ``t`` of
each sequence (slice ``len - 1 - t`` where ``seq_flip``), the carried values, the
invariants (and ``t`` itself when the body draws random numbers). Each body output is
either *stacked* (output ``i`` of iteration ``t`` goes to row ``t``, or ``len - 1 - t``
where ``out_flip``) or *last* (only its final value is returned; such an output must be
carried); with ``also_last``, the final value of every carried output follows (a
gradient's history loop, which then also serves the loop's own result). Carried output ``feedback[j]`` becomes the value of carried input ``j`` for the
next iteration. With a ``cond`` body (``while_loop``), iterations go on while it returns
true and at most ``n_steps`` (when given) times.

The op holds no numerics: the runtime runs the compiled body (graphflow/runtime/loops.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...graph import Op, TensorType
from ...graph.dtypes import is_integer
from ...graph.types import format_shape
from .body import Body


def compatible(a: TensorType, b: TensorType) -> bool:
    """Same dtype and rank, and no known dimension that differs."""
    return a.dtype == b.dtype and a.ndim == b.ndim and all(
        x is None or y is None or x == y for x, y in zip(a.shape, b.shape))


def _final(ty: TensorType, init: TensorType) -> TensorType:
    """The type of a carried value's final value: the body's, with what the initial value
    knows filled in."""
    return TensorType(ty.dtype, tuple(a if a is not None else b for a, b in zip(ty.shape, init.shape)))


@dataclass(frozen=True)
class Loop(Op):
    """A loop over a compiled sub-graph (see the module docstring)."""

    body: Body
    n_seq: int
    feedback: tuple            # per carried value: the body output that feeds it
    stacked: tuple             # per body output: stacked over iterations, or last value only
    seq_flip: tuple = ()       # per sequence: read from its end
    out_flip: tuple = ()       # per body output: stacked from the end of its rows
    out_like: tuple = ()       # per body output: sequence whose length it takes (None: trips)
    n_steps: int | None = None  # static trip count (scan) or iteration cap (while)
    dynamic_steps: bool = False
    reverse: bool = False
    cond: Body | None = None
    also_last: bool = False    # also return each carried value's final value (after all outputs)
    kind: str = "scan"
    loop_name: str = "scan"
    views = ()

    # -- facts ----------------------------------------------------------------------------
    @property
    def random(self):  # a body that draws random numbers draws afresh on every call
        return bool(self.body.counter_inputs or (self.cond is not None and self.cond.counter_inputs))

    def counters(self, n_inputs: int) -> tuple:
        off = int(self.dynamic_steps)
        found = {off + k for k in self.body.counter_inputs}
        if self.cond is not None:
            found |= {off + self.n_seq + k for k in self.cond.counter_inputs}
        return tuple(sorted(found))

    def bodies(self) -> tuple:
        return (self.body,) if self.cond is None else (self.body, self.cond)

    @property
    def n_state(self) -> int:
        return len(self.feedback)

    def split(self, inputs) -> tuple:
        """``(steps or None, sequences, initial values, invariants)``."""
        off = int(self.dynamic_steps)
        steps = inputs[0] if self.dynamic_steps else None
        seqs = list(inputs[off:off + self.n_seq])
        inits = list(inputs[off + self.n_seq:off + self.n_seq + self.n_state])
        rest = list(inputs[off + self.n_seq + self.n_state:])
        return steps, seqs, inits, rest

    def label(self) -> str:
        trips = self.n_steps if self.n_steps is not None and self.cond is None else "T"
        extra = ", reverse" if self.reverse else ""
        extra += ", go_backwards" if any(self.seq_flip) and not self.reverse else ""
        return f"{self.kind} `{self.loop_name}` ×{trips}{extra}"

    def where(self) -> str:
        return f"{self.kind} `{self.loop_name}` (made at {self.body.site})"

    # -- types ----------------------------------------------------------------------------
    def _trips(self, steps, seqs):
        if self.n_steps is not None and self.cond is None:
            return self.n_steps
        if self.dynamic_steps or self.cond is not None:
            return None
        known = {s.shape[0] for s in seqs if s.shape[0] is not None}
        if len(known) > 1:
            raise ValueError(f"{self.where()}: the sequences have different lengths "
                             f"{', '.join(format_shape(s.shape) for s in seqs)}")
        return known.pop() if known else None

    def infer(self, *types):
        steps, seqs, inits, rest = self.split(types)
        if steps is not None and not (is_integer(steps.dtype) and steps.ndim == 0):
            raise TypeError(f"{self.where()}: the number of steps must be an integer scalar, got {steps}")
        for s in seqs:
            if s.ndim == 0:
                raise ValueError(f"{self.where()}: a sequence must have a time axis, got a scalar")
        trips = self._trips(steps, seqs)
        inner = [TensorType(s.dtype, s.shape[1:]) for s in seqs] + inits + rest
        for ph, ty in zip(self.body.inputs, inner):
            if not compatible(ph.type, ty):
                raise TypeError(f"{self.where()}: body input `{ph.name}` is {ph.type}, given {ty}")
        outs = self.body.output_types(inner)
        result = []
        for i, (ty, stacked) in enumerate(zip(outs, self.stacked)):
            if stacked:
                like = self.out_like[i] if self.out_like else None
                rows = trips if like is None else seqs[like].shape[0]
                result.append(TensorType(ty.dtype, (rows,) + ty.shape))
            else:
                result.append(_final(ty, inits[self.feedback.index(i)]))
        if self.also_last:
            result += [_final(outs[i], init) for i, init in zip(self.feedback, inits)]
        return result

    def flops(self, in_types, out_types) -> int:
        return 0  # the body's kernels are counted where the body is compiled

    def grad(self, inputs, outputs, output_grads):
        from .loop_grad import loop_grad
        return loop_grad(self, inputs, outputs, output_grads)
