"""Op: a small frozen dataclass whose fields are its parameters.

An op declares the math, never the numerics (kernels live in backends):

- ``infer(*input_types)`` returns the output ``TensorType`` (or a list for several outputs)
  and raises ``ValueError``/``TypeError`` with a plain message for impossible inputs;
- ``grad(inputs, outputs, output_grads)`` returns one gradient tensor (or ``None`` for
  "no gradient flows here") per input, built from other ops;
- equality and hash come from the fields, which is what hash-consing merges on.

Example::

    @dataclass(frozen=True)
    class Scale(Op):
        '''y = factor * x'''
        factor: float
        def infer(self, x): return x
        def grad(self, inputs, outputs, gys): return [gys[0] * self.factor]
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import ClassVar

from .errors import NonDifferentiableError


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Op:
    """Base class of every op; see the module docstring for the contract."""

    # -- facts every compiler pass and backend reads from here (declared once, per op) --
    #: element-wise ops map each output element from the same-index input elements
    #: (after broadcasting); the compiler fuses chains of them.
    elementwise: ClassVar[bool] = False
    #: random ops draw fresh numbers; equal random nodes are never merged or folded.
    random: ClassVar[bool] = False
    #: collective ops exchange data with the other processes (graphflow.distributed): two
    #: equal calls are two exchanges and the result depends on the other ranks, so they
    #: are never merged or constant-folded.
    collective: ClassVar[bool] = False
    #: input positions an output may share memory with (a view, or the input itself):
    #: ``()`` for ops whose kernels always return fresh arrays, ``(0,)`` for reshape-like
    #: views. ``None`` (not declared) means any input: the safe assumption.
    views: ClassVar[tuple | None] = None
    #: the input whose run-time shape the output surely has (``sum_like(g, x)`` -> 1), or
    #: None; lets the compiler prove shapes equal through unknown (``None``) dims.
    shape_of_input: ClassVar[int | None] = None
    #: the op returns a fresh array that an element-wise tail (bias add, activation) may
    #: work on in place: the fusion pass folds such tails into it (conv2d, matmul).
    epilogue_head: ClassVar[bool] = False

    @classmethod
    def op_name(cls) -> str:
        """The short name used for node names and labels (``Conv2D`` -> ``conv2d``)."""
        return getattr(cls, "name", None) or _snake(cls.__name__)

    def params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def infer(self, *input_types):
        raise NotImplementedError(f"{type(self).__name__}.infer")

    def grad(self, inputs, outputs, output_grads):
        raise NonDifferentiableError(f"{self.op_name()} has no gradient")

    def counters(self, n_inputs: int) -> tuple:
        """Input positions holding random counters (int64 variables every call advances):
        a random op's last input; a loop whose body draws random numbers says which of
        its inputs feed those draws."""
        return (n_inputs - 1,) if self.random else ()

    def bodies(self) -> tuple:
        """Sub-graphs this op runs (a loop's body, a branch): the compiler compiles each
        like a graph of its own and the runtime runs them; plain ops have none."""
        return ()

    def flops(self, in_types, out_types) -> int:
        """Floating-point operations for inputs and outputs of these concrete types (one
        multiply-add = 2). The default, one per output element, fits element-wise ops;
        ops with more (or no) arithmetic override it."""
        return sum(t.size or 0 for t in out_types)

    def label(self) -> str:
        """A short human label with key parameters, for pictures and text dumps."""
        ps = ", ".join(f"{k}={v}" for k, v in self.params().items())
        return f"{self.op_name()}({ps})" if ps else self.op_name()

    def __call__(self, *inputs, name=None):
        """Apply the op: ``Add()(x, y)``; returns one tensor, or a list for several outputs."""
        from .node import apply
        outs = apply(self, inputs, name=name)
        return outs[0] if len(outs) == 1 else list(outs)
