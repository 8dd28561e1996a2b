"""Activation functions as element-wise ops (the compiler fuses chains of them).

relu, sigmoid, tanh and softplus live with the other element-wise ops and are
re-exported by ``gf.nn``. Gradients are built from other ops, so they differentiate again.

    >>> gf.nn.leaky_relu(x)            # Keras's default slope 0.3
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...graph import Tensor
from .._util import as_float, operands, user_errors
from ..elementwise import Elementwise, abs, greater, less, logical_and, tanh, where

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
GELU_C = math.sqrt(2.0 / math.pi)  # the tanh approximation's constants (Hendrycks & Gimpel)
GELU_K = 0.044715


@dataclass(frozen=True)
class Elu(Elementwise):
    """y = x if x > 0 else alpha * (e^x - 1); dy/dx = 1 or y + alpha"""
    alpha: float = 1.0
    like = "exp"

    def grad(self, inputs, outputs, gys):
        (x,), (y,), (g,) = inputs, outputs, gys
        return [where(greater(x, 0), g, g * (y + self.alpha))]


@dataclass(frozen=True)
class Selu(Elementwise):
    """y = scale * elu(x, alpha) with the self-normalising constants (Klambauer et al.)
    alpha = 1.67326..., scale = 1.05070...; dy/dx = scale or y + scale * alpha"""
    like = "exp"

    def grad(self, inputs, outputs, gys):
        (x,), (y,), (g,) = inputs, outputs, gys
        return [where(greater(x, 0), g * SELU_SCALE, g * (y + SELU_SCALE * SELU_ALPHA))]


@dataclass(frozen=True)
class LeakyRelu(Elementwise):
    """y = x if x > 0 else alpha * x; dy/dx = 1 or alpha"""
    alpha: float = 0.3
    like = "exp"

    def grad(self, inputs, outputs, gys):
        (x,), (g,) = inputs, gys
        return [where(greater(x, 0), g, g * self.alpha)]


@dataclass(frozen=True)
class Softsign(Elementwise):
    """y = x / (1 + |x|); dy/dx = 1 / (1 + |x|)^2"""
    like = "exp"

    def grad(self, inputs, outputs, gys):
        d = 1 + abs(inputs[0])
        return [gys[0] / (d * d)]


@dataclass(frozen=True)
class HardSigmoid(Elementwise):
    """y = clip(0.2 x + 0.5, 0, 1) (Keras 2); dy/dx = 0.2 for -2.5 < x < 2.5, else 0"""
    like = "exp"

    def grad(self, inputs, outputs, gys):
        (x,), (g,) = inputs, gys
        return [where(logical_and(greater(x, -2.5), less(x, 2.5)), g * 0.2, 0)]


@dataclass(frozen=True)
class Gelu(Elementwise):
    """The tanh approximation of GELU (Keras 3's default, ``approximate=True``):
    y = x/2 * (1 + tanh(c (x + k x^3))), c = sqrt(2/pi), k = 0.044715. It is within
    about 1e-3 of the exact x * Phi(x); the exact form would need erf, which array
    namespaces do not all offer. dy/dx = (1 + t)/2 + x/2 (1 - t^2) c (1 + 3 k x^2)."""
    like = "exp"

    def grad(self, inputs, outputs, gys):
        (x,), (g,) = inputs, gys
        t = tanh(GELU_C * (x + GELU_K * x * x * x))
        return [g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_K * x * x))]


# ---------------------------------------------------------------- functional API
def _finite(alpha) -> float:
    alpha = as_float(alpha, "alpha")
    if not math.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number, got {alpha}")
    return alpha


@user_errors
def elu(x, alpha=1.0) -> Tensor:
    """Exponential linear unit: ``x`` above 0, ``alpha * (e^x - 1)`` below."""
    (x,) = operands(x)
    return Elu(_finite(alpha))(x)


@user_errors
def selu(x) -> Tensor:
    """Scaled ELU with the self-normalising constants."""
    (x,) = operands(x)
    return Selu()(x)


@user_errors
def leaky_relu(x, alpha=0.3) -> Tensor:
    """``x`` above 0, ``alpha * x`` below (Keras 2's LeakyReLU default alpha = 0.3)."""
    (x,) = operands(x)
    return LeakyRelu(_finite(alpha))(x)


@user_errors
def softsign(x) -> Tensor:
    """``x / (1 + |x|)``."""
    (x,) = operands(x)
    return Softsign()(x)


@user_errors
def hard_sigmoid(x) -> Tensor:
    """Keras 2's piecewise-linear sigmoid ``clip(0.2 x + 0.5, 0, 1)``."""
    (x,) = operands(x)
    return HardSigmoid()(x)


@user_errors
def gelu(x) -> Tensor:
    """Gaussian error linear unit, tanh approximation (see ``Gelu``)."""
    (x,) = operands(x)
    return Gelu()(x)
