"""Element-wise ops with full NumPy broadcasting and NumPy-2 dtype rules.

Each op names the NumPy ufunc whose type resolution it follows (``like``), so the static
dtype of ``x + y`` is exactly what NumPy would produce. Gradients undo broadcasting
through ``unbroadcast``. Ops whose derivative is zero almost everywhere (floor-like steps,
comparisons, integer casts) have no gradient rule: asking for one through them is an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..graph import NonDifferentiableError, Op, Tensor, TensorType, broadcast_shapes
from ..graph.dtypes import as_dtype, is_float, ufunc_result
from ._util import as_float, operands, unbroadcast, user_errors


@dataclass(frozen=True)
class Elementwise(Op):
    """Base of element-wise ops: broadcast the input shapes, take NumPy's result dtype."""
    views = ()  # kernels return fresh arrays

    elementwise = True
    like: ClassVar[str] = ""  # NumPy ufunc whose dtype rule applies

    def infer(self, *types):
        shape = broadcast_shapes(*[t.shape for t in types])
        return TensorType(ufunc_result(getattr(np, self.like), *[t.dtype for t in types])[0], shape)


# ---------------------------------------------------------------- binary arithmetic
@dataclass(frozen=True)
class Add(Elementwise):
    """z = x + y"""
    like = "add"

    def grad(self, inputs, outputs, gys):
        x, y = inputs
        return [unbroadcast(gys[0], x), unbroadcast(gys[0], y)]


@dataclass(frozen=True)
class Sub(Elementwise):
    """z = x - y"""
    like = "subtract"

    def grad(self, inputs, outputs, gys):
        x, y = inputs
        return [unbroadcast(gys[0], x), unbroadcast(-gys[0], y)]


@dataclass(frozen=True)
class Mul(Elementwise):
    """z = x * y"""
    like = "multiply"

    def grad(self, inputs, outputs, gys):
        x, y = inputs
        return [unbroadcast(gys[0] * y, x), unbroadcast(gys[0] * x, y)]


@dataclass(frozen=True)
class Div(Elementwise):
    """z = x / y (true division; int / int is float64 as in NumPy)"""
    like = "true_divide"

    def grad(self, inputs, outputs, gys):
        (x, y), (z,), (g,) = inputs, outputs, gys
        return [unbroadcast(g / y, x), unbroadcast(-g * z / y, y)]


@dataclass(frozen=True)
class FloorDiv(Elementwise):
    """z = floor(x / y); a step function: no gradient"""
    name: ClassVar[str] = "floordiv"
    like = "floor_divide"


@dataclass(frozen=True)
class Mod(Elementwise):
    """z = x - floor(x / y) * y (sign of y, as NumPy); dz/dx = 1, dz/dy = -floor(x / y)"""
    like = "remainder"

    def grad(self, inputs, outputs, gys):
        (x, y), (g,) = inputs, gys
        return [unbroadcast(g, x), unbroadcast(-g * floordiv(x, y), y)]


@dataclass(frozen=True)
class Pow(Elementwise):
    """z = x ** y; dz/dx = y x^(y-1), dz/dy = z log(x) (defined for x > 0)"""
    like = "power"

    def grad(self, inputs, outputs, gys):
        (x, y), (z,), (g,) = inputs, outputs, gys
        gx = g * y * pow(x, y - 1)
        gy = g * where(greater(x, 0), z * log(where(greater(x, 0), x, 1)), 0)
        return [unbroadcast(gx, x), unbroadcast(gy, y)]


@dataclass(frozen=True)
class Maximum(Elementwise):
    """z = max(x, y); at ties the gradient goes to x"""
    like = "maximum"

    def grad(self, inputs, outputs, gys):
        (x, y), (g,) = inputs, gys
        pick = greater_equal(x, y)
        return [unbroadcast(where(pick, g, 0), x), unbroadcast(where(pick, 0, g), y)]


@dataclass(frozen=True)
class Minimum(Elementwise):
    """z = min(x, y); at ties the gradient goes to x"""
    like = "minimum"

    def grad(self, inputs, outputs, gys):
        (x, y), (g,) = inputs, gys
        pick = less_equal(x, y)
        return [unbroadcast(where(pick, g, 0), x), unbroadcast(where(pick, 0, g), y)]


# ---------------------------------------------------------------- unary math
@dataclass(frozen=True)
class Neg(Elementwise):
    """y = -x"""
    like = "negative"

    def grad(self, inputs, outputs, gys):
        return [-gys[0]]


@dataclass(frozen=True)
class Abs(Elementwise):
    """y = |x|; dy/dx = sign(x) (0 at 0)"""
    like = "absolute"

    def grad(self, inputs, outputs, gys):
        return [gys[0] * sign(inputs[0])]


@dataclass(frozen=True)
class Sign(Elementwise):
    """y = sign(x) in {-1, 0, 1}; a step function: no gradient"""
    like = "sign"


@dataclass(frozen=True)
class Exp(Elementwise):
    """y = e^x; dy/dx = y"""
    like = "exp"

    def grad(self, inputs, outputs, gys):
        return [gys[0] * outputs[0]]


@dataclass(frozen=True)
class Log(Elementwise):
    """y = ln x; dy/dx = 1/x"""
    like = "log"

    def grad(self, inputs, outputs, gys):
        return [gys[0] / inputs[0]]


@dataclass(frozen=True)
class Log1p(Elementwise):
    """y = ln(1 + x), accurate for small x; dy/dx = 1/(1 + x)"""
    like = "log1p"

    def grad(self, inputs, outputs, gys):
        return [gys[0] / (inputs[0] + 1)]


@dataclass(frozen=True)
class Expm1(Elementwise):
    """y = e^x - 1, accurate for small x; dy/dx = y + 1"""
    like = "expm1"

    def grad(self, inputs, outputs, gys):
        return [gys[0] * (outputs[0] + 1)]


@dataclass(frozen=True)
class Sqrt(Elementwise):
    """y = sqrt(x); dy/dx = 1 / (2 y)"""
    like = "sqrt"

    def grad(self, inputs, outputs, gys):
        return [gys[0] * 0.5 / outputs[0]]


@dataclass(frozen=True)
class Rsqrt(Elementwise):
    """y = 1 / sqrt(x); dy/dx = -y^3 / 2"""
    like = "sqrt"

    def grad(self, inputs, outputs, gys):
        y = outputs[0]
        return [gys[0] * -0.5 * y * y * y]


@dataclass(frozen=True)
class Square(Elementwise):
    """y = x^2; dy/dx = 2x"""
    like = "square"

    def grad(self, inputs, outputs, gys):
        return [gys[0] * 2 * inputs[0]]


@dataclass(frozen=True)
class Tanh(Elementwise):
    """y = tanh x; dy/dx = 1 - y^2"""
    like = "tanh"

    def grad(self, inputs, outputs, gys):
        y = outputs[0]
        return [gys[0] * (1 - y * y)]


@dataclass(frozen=True)
class Sigmoid(Elementwise):
    """y = 1 / (1 + e^-x), computed without overflow; dy/dx = y (1 - y)"""
    like = "exp"

    def grad(self, inputs, outputs, gys):
        y = outputs[0]
        return [gys[0] * y * (1 - y)]


@dataclass(frozen=True)
class Relu(Elementwise):
    """y = max(x, 0); dy/dx = 1 where x > 0, else 0"""
    like = "negative"

    def grad(self, inputs, outputs, gys):
        return [where(greater(inputs[0], 0), gys[0], 0)]


@dataclass(frozen=True)
class Softplus(Elementwise):
    """y = ln(1 + e^x), computed without overflow; dy/dx = sigmoid(x)"""
    like = "exp"

    def grad(self, inputs, outputs, gys):
        return [gys[0] * sigmoid(inputs[0])]


# ---------------------------------------------------------------- selection and casts
@dataclass(frozen=True)
class Where(Elementwise):
    """z = cond ? x : y (cond is boolean)"""

    def infer(self, cond, x, y):
        if cond.dtype != "bool":
            raise TypeError(f"the condition must be bool, got {cond.dtype}")
        shape = broadcast_shapes(cond.shape, x.shape, y.shape)
        return TensorType(np.result_type(np.dtype(x.dtype), np.dtype(y.dtype)).name, shape)

    def grad(self, inputs, outputs, gys):
        (c, x, y), (g,) = inputs, gys
        return [None, unbroadcast(where(c, g, 0), x), unbroadcast(where(c, 0, g), y)]


@dataclass(frozen=True)
class Clip(Elementwise):
    """y = min(max(x, lo), hi); gradient 1 inside [lo, hi], 0 outside"""
    lo: float
    hi: float

    def infer(self, x):
        if self.lo > self.hi:
            raise ValueError(f"lo={self.lo} > hi={self.hi}")
        return x

    def grad(self, inputs, outputs, gys):
        x = inputs[0]
        inside = logical_and(greater_equal(x, self.lo), less_equal(x, self.hi))
        return [where(inside, gys[0], 0)]


@dataclass(frozen=True)
class Cast(Elementwise):
    """y = x as ``dtype``; float -> float carries the gradient, anything through an
    integer or bool is a step and has none"""
    dtype: str

    def infer(self, x):
        return TensorType(self.dtype, x.shape)

    def grad(self, inputs, outputs, gys):
        x = inputs[0]
        if not (is_float(x.dtype) and is_float(self.dtype)):
            raise NonDifferentiableError(f"a cast from {x.dtype} to {self.dtype} has no gradient "
                                         f"(integer and bool values are steps)")
        return [cast(gys[0], x.dtype)]

    def label(self):
        return f"cast→{self.dtype}"


@dataclass(frozen=True)
class StopGradient(Elementwise):
    """y = x, but no gradient flows back through it (disconnected on purpose)"""

    def infer(self, x):
        return x  # any dtype, bool masks included

    def grad(self, inputs, outputs, gys):
        return [None]


# ---------------------------------------------------------------- comparisons and logic
def _predicate(cls_name: str, ufunc: str, doc: str, name: str | None = None):
    """A boolean element-wise op: no parameters, NumPy's ``ufunc`` semantics, no gradient."""
    attrs = {"like": ufunc, "__doc__": doc, "__module__": __name__, "__qualname__": cls_name}
    if name:
        attrs["name"] = name
    return dataclass(frozen=True)(type(cls_name, (Elementwise,), attrs))


Equal = _predicate("Equal", "equal", "z = x == y (bool)")
NotEqual = _predicate("NotEqual", "not_equal", "z = x != y (bool)")
Less = _predicate("Less", "less", "z = x < y (bool)")
LessEqual = _predicate("LessEqual", "less_equal", "z = x <= y (bool)")
Greater = _predicate("Greater", "greater", "z = x > y (bool)")
GreaterEqual = _predicate("GreaterEqual", "greater_equal", "z = x >= y (bool)")
LogicalAnd = _predicate("LogicalAnd", "logical_and", "z = x and y (bool)")
LogicalOr = _predicate("LogicalOr", "logical_or", "z = x or y (bool)")
LogicalNot = _predicate("LogicalNot", "logical_not", "z = not x (bool)")
IsFinite = _predicate("IsFinite", "isfinite", "z = x is neither inf nor nan (bool)", name="isfinite")


# ---------------------------------------------------------------- functional API
def _binary(op_type):
    def fn(x, y):
        a, b = operands(x, y)
        return op_type()(a, b)
    fn.__name__ = op_type.op_name()
    fn.__doc__ = f"Element-wise {op_type.__doc__} with broadcasting."
    return user_errors(fn)


def _unary(op_type):
    def fn(x):
        (a,) = operands(x)
        return op_type()(a)
    fn.__name__ = op_type.op_name()
    fn.__doc__ = f"Element-wise {op_type.__doc__}."
    return user_errors(fn)


add, sub, mul, div = _binary(Add), _binary(Sub), _binary(Mul), _binary(Div)
floordiv, mod, pow = _binary(FloorDiv), _binary(Mod), _binary(Pow)
maximum, minimum = _binary(Maximum), _binary(Minimum)
equal, not_equal, less, less_equal = _binary(Equal), _binary(NotEqual), _binary(Less), _binary(LessEqual)
greater, greater_equal = _binary(Greater), _binary(GreaterEqual)
logical_and, logical_or = _binary(LogicalAnd), _binary(LogicalOr)
neg, abs, sign, exp, log, log1p, expm1 = (_unary(T) for T in (Neg, Abs, Sign, Exp, Log, Log1p, Expm1))
sqrt, rsqrt, square, tanh, sigmoid, relu = (_unary(T) for T in (Sqrt, Rsqrt, Square, Tanh, Sigmoid, Relu))
softplus, logical_not, isfinite, stop_gradient = (_unary(T) for T in (Softplus, LogicalNot, IsFinite, StopGradient))
divide, multiply, subtract, negative = div, mul, sub, neg


@user_errors
def where(cond, x, y) -> Tensor:
    """``x`` where ``cond`` is true, else ``y`` (NumPy ``where`` with broadcasting)."""
    (c,) = operands(cond)
    a, b = operands(x, y)
    return Where()(c, a, b)


@user_errors
def clip(x, lo, hi) -> Tensor:
    """Limit values to ``[lo, hi]``: ``gf.clip(p, 1e-7, 1 - 1e-7)``."""
    (a,) = operands(x)
    lo, hi = as_float(lo, "lo"), as_float(hi, "hi")
    if lo != lo or hi != hi:
        raise ValueError(f"clip bounds must not be NaN, got lo={lo}, hi={hi}")
    if lo <= hi and a.dtype != "bool" and not is_float(a.dtype):
        lo, hi = _integer_bounds(lo, hi, a.dtype)
    return Clip(lo, hi)(a)


def _integer_bounds(lo: float, hi: float, dtype: str) -> tuple:
    """The integer range ``[ceil(lo), floor(hi)]`` within ``dtype``'s (an integer x
    clipped to [0.5, 2.5] lies in [1, 2]); infinite bounds clip nothing."""
    info = np.iinfo(dtype)
    lo_i = math.ceil(max(lo, info.min)) if lo <= info.max else None
    hi_i = math.floor(min(hi, info.max)) if hi >= info.min else None
    if lo_i is None or hi_i is None or lo_i > hi_i:
        raise ValueError(f"no {dtype} value lies in [{lo}, {hi}]")
    return lo_i, hi_i


@user_errors
def cast(x, dtype) -> Tensor:
    """``x`` converted to ``dtype`` (a no-op when it already is)."""
    (a,) = operands(x)
    dtype = as_dtype(dtype)
    return a if a.dtype == dtype else Cast(dtype)(a)
