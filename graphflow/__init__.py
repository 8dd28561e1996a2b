"""graphflow: a symbolic computation-graph engine (Theano / TF-1.x style).

    >>> import graphflow as gf, numpy as np
    >>> x = gf.placeholder((None, 3), name="x")
    >>> w = gf.variable(np.ones((3, 2), np.float32), name="w")
    >>> f = gf.function([x], gf.relu(x @ w))
    >>> f(np.ones((1, 3)))
    array([[3., 3.]], dtype=float32)

This module re-exports the public API; it defines nothing itself.
"""
from . import ops  # noqa: F401
from .autodiff import grad, gradients  # noqa: F401
from .graph import (Constant, DisconnectedError, FeedError, GraphError, NonDifferentiableError,  # noqa: F401
                    NameRuleError, Op, Placeholder, Tensor, TensorType, Variable, check_name, check_path,
                    constant, derived_name, name_scope, placeholder, to_networkx, variable)
from .ops import *  # noqa: F401,F403
from .ops import abs, max, min, pow, sum  # noqa: F401
from .ops import nn  # noqa: F401
from .runtime import (Function, NumericsError, Profile, conv_precision, function,  # noqa: F401
                      set_conv_precision, set_default_backend)
from .runtime import backend as backends  # noqa: F401
from . import viz  # noqa: F401  (after runtime: it installs the notebook SVG renderer)
from . import distributed  # noqa: F401  (imports mpi4py only when init() is called)

__version__ = "0.1.0"
