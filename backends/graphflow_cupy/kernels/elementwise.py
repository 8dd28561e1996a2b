"""Element-wise ops on the GPU: each op's CUDA expression, declared once.

The fused-kernel generator builds every fused group from these expressions; an
element-wise node that was not fused runs as a one-step group through the same
generator, so one op computes the same way alone and inside a group (one launch, the
NumPy backend's formulas and NaN rules, see csrc/gf_common.cuh). The helpers ``gf_*`` are
defined there for float, double and the integer types.
"""
from __future__ import annotations

from graphflow.ops import elementwise as ew
from graphflow.ops.nn import activations as act

from ..codegen import Unsupported
from ..expressions import EXPRESSIONS
from ..table import KERNELS
from .fused import single_op


def _single_op_kernel(op, node, xp):
    """One generated kernel; values the generator has no C type for (float16) take the
    NumPy kernel, run by CuPy."""
    try:
        launcher = single_op(op, node)
    except Unsupported:
        return KERNELS.parent.lookup(type(op))(op, node, xp)
    return lambda *arrays, out=None: launcher(*arrays, out=out)


def expression(op_type, template, operands="out"):
    """Declare ``op_type``'s CUDA expression and run the op by it on this backend. One
    pass, reading each element before writing it: ``out`` may be any same-shaped input."""
    EXPRESSIONS.define(op_type, template, operands)
    KERNELS.register(op_type, writes_out=True, inplace=True)(_single_op_kernel)


# arithmetic: operands converted to the result dtype first (NumPy's loop type)
expression(ew.Add, "{0} + {1}")
expression(ew.Sub, "{0} - {1}")
expression(ew.Mul, "{0} * {1}")
expression(ew.Div, "{0} / {1}")
expression(ew.FloorDiv, "gf_floordiv({0}, {1})")
expression(ew.Mod, "gf_mod({0}, {1})")
expression(ew.Pow, "gf_pow({0}, {1})")
expression(ew.Maximum, "gf_max({0}, {1})")
expression(ew.Minimum, "gf_min({0}, {1})")
expression(ew.Neg, "-{0}")
expression(ew.Abs, "gf_abs({0})")
expression(ew.Sign, "gf_sign({0})")
expression(ew.Square, "{0} * {0}")

# transcendental: float results (an integer input is converted first, as in NumPy)
expression(ew.Exp, "gf_exp({0})")
expression(ew.Log, "gf_log({0})")
expression(ew.Log1p, "gf_log1p({0})")
expression(ew.Expm1, "gf_expm1({0})")
expression(ew.Sqrt, "gf_sqrt({0})")
expression(ew.Rsqrt, "({T})1 / gf_sqrt({0})")
expression(ew.Tanh, "gf_tanh({0})")
expression(ew.Sigmoid, "gf_sigmoid({0})")
expression(ew.Softplus, "gf_softplus({0})")
expression(ew.Relu, "gf_max({0}, ({T})0)")

# activations of gf.nn
expression(act.Elu, "gf_elu({0}, {alpha})")
expression(act.Selu, f"gf_elu({{0}}, ({{T}}){act.SELU_ALPHA!r}) * ({{T}}){act.SELU_SCALE!r}")
expression(act.LeakyRelu, "{0} > 0 ? {0} : {0} * {alpha}")
expression(act.Softsign, "{0} / (gf_abs({0}) + ({T})1)")
expression(act.HardSigmoid, "gf_clip({0} * ({T})0.2 + ({T})0.5, ({T})0, ({T})1)")
expression(act.Gelu, f"((gf_tanh(({{0}} * {{0}} * ({{T}}){act.GELU_K!r} + ({{T}})1) * {{0}} * ({{T}}){act.GELU_C!r})"
                     " + ({T})1) * {0}) * ({T})0.5")

# selection and conversion
expression(ew.Where, "{0} ? {1} : {2}", operands=("bool", "out", "out"))
expression(ew.Clip, "gf_clip({0}, {lo}, {hi})")
expression(ew.Cast, "{0}")
expression(ew.StopGradient, "{0}")

# comparisons (in the operands' common type) and logic
expression(ew.Equal, "{0} == {1}", operands="common")
expression(ew.NotEqual, "{0} != {1}", operands="common")
expression(ew.Less, "{0} < {1}", operands="common")
expression(ew.LessEqual, "{0} <= {1}", operands="common")
expression(ew.Greater, "{0} > {1}", operands="common")
expression(ew.GreaterEqual, "{0} >= {1}", operands="common")
expression(ew.LogicalAnd, "{0} && {1}", operands="bool")
expression(ew.LogicalOr, "{0} || {1}", operands="bool")
expression(ew.LogicalNot, "!{0}", operands="bool")
expression(ew.IsFinite, "gf_isfinite({0})", operands="same")
