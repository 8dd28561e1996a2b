"""The op catalog. Each op is a frozen dataclass (params + infer + grad); each module
also offers the functional API (``gf.add``, ``gf.sum``, ``gf.nn.conv2d``...)."""
# the public names are listed in __all__ at the end
from . import elementwise, reductions, shape
from .elementwise import (abs, add, cast, clip, div, divide, equal, exp, expm1, floordiv,  # noqa: F401
                          greater, greater_equal, isfinite, less, less_equal, log, log1p,
                          logical_and, logical_not, logical_or, maximum, minimum, mod, mul,
                          multiply, neg, negative, not_equal, pow, relu, rsqrt, sigmoid, sign,
                          softplus, sqrt, square, stop_gradient, sub, subtract, tanh, where)
from .reductions import argmax, argmin, count, max, mean, min, prod, std, sum, var  # noqa: F401
from .shape import (broadcast_like, broadcast_to, expand_dims, full_like, ones_like, reshape,  # noqa: F401
                    reshape_like, squeeze, sum_like, transpose, zeros_like)
from . import nn  # noqa: F401  (gf.nn: conv, pooling, softmax, losses, dropout...)
from .nn import draw_seed, set_random_seed  # noqa: F401
from .special import logsumexp  # noqa: F401  (numerically careful special functions)
from .random import random_normal, random_uniform  # noqa: F401  (counter-based Philox draws)
from .linalg import dot, matmul, outer, tensordot  # noqa: F401
from .indexing import gather, getitem, take  # noqa: F401
from .joining import concatenate, pad, split, stack, tile  # noqa: F401
from .shape import flatten  # noqa: F401
from .nn import one_hot  # noqa: F401  (also gf.one_hot)
from .control_flow import cond, scan, while_loop  # noqa: F401  (loops as ops: docs/control-flow.md)

__all__ = [n for n, v in dict(globals()).items() if not n.startswith("_") and not isinstance(v, type(shape))]
