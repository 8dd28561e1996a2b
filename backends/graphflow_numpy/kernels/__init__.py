"""Kernels, one module per op family (importing registers them)."""
from . import elementwise, fused, nn_conv, nn_misc, nn_pool, nn_softmax, reductions, shape, special  # noqa: F401
from . import collective, indexing, joining, linalg, nn_conv_transpose, nn_recurrent, random  # noqa: F401
