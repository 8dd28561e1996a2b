"""The kernels the CuPy backend registers over the NumPy backend's (importing registers them)."""
from . import conv, elementwise, fused, misc, pool, random, scatter, softmax  # noqa: F401
