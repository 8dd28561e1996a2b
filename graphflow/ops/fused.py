"""Ops the compiler makes by fusing others: ``Fused`` (a group of element-wise ops run as
one kernel) and ``FusedEpilogue`` (a convolution or matrix product whose element-wise
tail — bias add, activation — runs on its result in place).

Both describe their sub-graph as data, so a backend can generate code for it and a
visualiser can draw it (``describe()``, ``expand()``). Neither has a gradient rule: the
compiler fuses after gradients are built.

    >>> from graphflow.ops.elementwise import Add, Tanh
    >>> f = Fused(((Add(), (0, 1)), (Tanh(), (2,))), 2)     # tanh(x0 + x1)
    >>> f.label()
    'fused[add→tanh]'
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..graph import Op, Tensor, apply

@lru_cache(maxsize=8192)
def step_type(op: Op, *types):
    """``op.infer(*types)``, memoised: fused groups repeat the same few steps."""
    return op.infer(*types)


@dataclass(frozen=True)
class Fused(Op):
    """y = an element-wise sub-graph of the inputs, computed by one kernel.

    ``steps`` is a tuple of ``(op, refs)`` in run order; a ref below ``n_inputs`` names
    an input, ``n_inputs + j`` the result of step ``j``. The last step is the output.
    Broadcasting is NumPy's, step by step, exactly as in the unfused graph.
    """

    def flops(self, in_types, out_types):
        return (out_types[0].size or 0) * len(self.steps)

    views = ()  # kernels return fresh arrays

    steps: tuple
    n_inputs: int
    elementwise = True

    def infer(self, *types):
        if len(types) != self.n_inputs:
            raise ValueError(f"fused op takes {self.n_inputs} inputs, got {len(types)}")
        return self.step_types(types)[-1]

    def step_types(self, types) -> list:
        """The input types followed by the type of every step's result."""
        vals = list(types)
        for op, refs in self.steps:
            vals.append(step_type(op, *[vals[r] for r in refs]))
        return vals

    def op_names(self) -> list:
        return [op.op_name() for op, _ in self.steps]

    def label(self) -> str:
        names = self.op_names()
        shown = names if len(names) <= 6 else names[:5] + [f"…+{len(names) - 5}"]
        return f"fused[{'→'.join(shown)}]"

    def describe(self, input_names=None) -> list:
        """One line per step, e.g. ``['t0 = add(x0, x1)', 't1 = tanh(t0)']``."""
        names = list(input_names or [f"x{i}" for i in range(self.n_inputs)])
        lines = []
        for j, (op, refs) in enumerate(self.steps):
            lines.append(f"t{j} = {op.label()}({', '.join(names[r] for r in refs)})")
            names.append(f"t{j}")
        return lines

    def expand(self, inputs) -> Tensor:
        """The unfused graph on ``inputs`` (tensors): what this op computes, op by op."""
        vals = list(inputs)
        for op, refs in self.steps:
            vals.append(apply(op, [vals[r] for r in refs])[0])
        return vals[-1]


@dataclass(frozen=True)
class FusedEpilogue(Op):
    """y = epilogue(head(*head inputs), *other inputs): a non-element-wise ``head`` op
    (conv2d, matmul) followed by an element-wise ``epilogue`` (a ``Fused`` whose input 0
    is the head's result), e.g. ``relu(conv2d(x, k) + b)``. The kernel runs the head,
    then the epilogue in place on its result.
    """

    def flops(self, in_types, out_types):  # the head's result has the output's size
        head = self.head.flops(in_types[:self.n_head_inputs], out_types)
        return head + self.epilogue.flops(None, out_types)

    views = ()  # kernels return fresh arrays

    head: Op
    n_head_inputs: int
    epilogue: Fused

    def infer(self, *types):
        head_type = self.head.infer(*types[:self.n_head_inputs])
        return self.epilogue.infer(head_type, *types[self.n_head_inputs:])

    def label(self) -> str:
        tail = self.epilogue.op_names()
        return f"{self.head.label()}+{'+'.join(tail)}"

    def describe(self) -> list:
        n = self.n_head_inputs
        head = f"h = {self.head.label()}({', '.join(f'x{i}' for i in range(n))})"
        names = ["h"] + [f"x{n - 1 + i}" for i in range(1, self.epilogue.n_inputs)]
        return [head] + self.epilogue.describe(names)

    def expand(self, inputs) -> Tensor:
        h = apply(self.head, list(inputs[:self.n_head_inputs]))[0]
        return self.epilogue.expand([h] + list(inputs[self.n_head_inputs:]))
