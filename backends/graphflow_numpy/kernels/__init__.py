"""Kernels, one module per op family (importing registers them)."""
from . import elementwise, reductions, shape  # noqa: F401
