"""The point-wise part of an LSTM step as one op, so a recurrent loop's body runs it as
one kernel forwards and one backwards instead of a dozen element-wise ops each way
(Keras's LSTM, ``graphflow.keras.layers.LSTM``, uses it; the matrix products stay
ordinary ``matmul``s).

    >>> h, c = gf.nn.lstm_cell(x_t @ W + h_prev @ U + b, c_prev)   # gates i, f, c, o

``z`` holds the four gate pre-activations side by side, (..., 4u) in the order i, f, c,
o; ``c_prev`` is (..., u). With ``gate`` (``'sigmoid'`` or Keras 2's ``'hard_sigmoid'``)
σ: i = σ(z_i), f = σ(z_f), o = σ(z_o), g = tanh(z_c); c = f c_prev + i g; h = o tanh(c).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...graph import Op, Tensor
from ...graph.dtypes import is_float
from ...graph.node import apply
from ...graph.types import TensorType
from .._util import operands, user_errors

GATES = ("sigmoid", "hard_sigmoid")


def _check(z, c, what):
    if not (is_float(z.dtype) and z.dtype == c.dtype):
        raise TypeError(f"{what}: z and c_prev must be float tensors of one dtype, got {z.dtype} and {c.dtype}")
    if z.ndim != c.ndim or z.ndim < 1:
        raise ValueError(f"{what}: z {z.shape} and c_prev {c.shape} must have the same rank (>= 1)")
    u = c.shape[-1]
    if u is not None and z.shape[-1] is not None and z.shape[-1] != 4 * u:
        raise ValueError(f"{what}: z's last axis holds the four gates (4 x {u} = {4 * u}), got {z.shape[-1]}")
    for a, b in zip(z.shape[:-1], c.shape[:-1]):
        if a is not None and b is not None and a != b:
            raise ValueError(f"{what}: z {z.shape} and c_prev {c.shape} disagree before the last axis")


@dataclass(frozen=True)
class LSTMCell(Op):
    """(h, c) = LSTM step from gate pre-activations z (..., 4u) and c_prev (..., u) (see
    the module docstring); the gradient is ``LSTMCellGrad``."""
    name: ClassVar[str] = "lstm_cell"
    views = ()  # fresh arrays

    gate: str = "sigmoid"

    def flops(self, in_types, out_types):
        return 12 * (in_types[1].size or 0)

    def infer(self, z, c):
        if self.gate not in GATES:
            raise ValueError(f"lstm_cell: gate must be one of {GATES}, got {self.gate!r}")
        _check(z, c, "lstm_cell")
        shape = tuple(a if a is not None else b for a, b in zip(c.shape[:-1], z.shape[:-1])) + c.shape[-1:]
        return [TensorType(c.dtype, shape), TensorType(c.dtype, shape)]

    def grad(self, inputs, outputs, gys):
        (z, c_prev), (h, c) = inputs, outputs
        gh, gc = gys
        from ..shape import zeros_like
        gh = zeros_like(h) if gh is None else gh
        gc = zeros_like(c) if gc is None else gc
        return list(apply(LSTMCellGrad(self.gate), [z, c_prev, c, gh, gc]))


@dataclass(frozen=True)
class LSTMCellGrad(Op):
    """(dz, dc_prev) of ``LSTMCell`` from z, c_prev, the new c and the output gradients
    gh, gc: with the gates recomputed from z, dc = gc + gh o (1 - tanh²c),
    dz = [dc g σ'(z_i), dc c_prev σ'(z_f), dc i (1 - g²), gh tanh(c) σ'(z_o)],
    dc_prev = dc f. (A second derivative through it is not provided.)"""
    name: ClassVar[str] = "lstm_cell_grad"
    views = ()

    gate: str = "sigmoid"

    def flops(self, in_types, out_types):
        return 24 * (in_types[1].size or 0)

    def infer(self, z, c_prev, c, gh, gc):
        _check(z, c_prev, "lstm_cell_grad")
        for t, name in ((c, "c"), (gh, "gh"), (gc, "gc")):
            if t.dtype != c_prev.dtype or t.ndim != c_prev.ndim:
                raise ValueError(f"lstm_cell_grad: {name} {t.dtype}{t.shape} does not match c_prev "
                                 f"{c_prev.dtype}{c_prev.shape}")
        return [z, c_prev]


@user_errors
def lstm_cell(z, c_prev, gate="sigmoid") -> tuple[Tensor, Tensor]:
    """``(h, c)`` of one LSTM step from the gate pre-activations ``z`` (i, f, c, o side by
    side on the last axis) and the previous cell state (see the module docstring)."""
    z, c_prev = operands(z, c_prev)
    h, c = apply(LSTMCell(gate), [z, c_prev])
    return h, c
