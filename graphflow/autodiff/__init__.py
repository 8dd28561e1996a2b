"""Reverse-mode autodiff: gradients are graphs built from the ops' rules."""
from .grad import grad, gradients  # noqa: F401
from ._util import ones_like, zeros_like  # noqa: F401
