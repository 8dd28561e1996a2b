"""Reverse-mode autodiff: gradients are graphs built from the ops' rules."""
from .grad import grad, gradients  # noqa: F401
from ._util import ones_like, zeros_like  # noqa: F401

# loops differentiate their bodies with the same sweep (the op catalog sits below us)
from ..ops.control_flow import loop_grad as _loop_grad  # noqa: E402
_loop_grad.set_vjp(gradients)
