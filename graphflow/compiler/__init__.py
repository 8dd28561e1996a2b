"""The compiler: rewrites a graph for a backend and schedules it (see docs/compiler.md).

    >>> f = gf.function([x], y)          # compile_program runs here, optimize="O2"
    >>> f.report()                        # what each pass did, peak memory, FLOPs
"""
from .canonicalize import CANONICALIZE  # noqa: F401
from .engine import graph_rewrite, substitute  # noqa: F401
from .patterns import Const, Pat, Var, floating, integral, static_shape  # noqa: F401
from .rules import CompilerWarning, Context, Rewrite, RewriteError, RewriteGroup  # noqa: F401
from .fold import FOLD, PRUNE  # noqa: F401
from .graph import GraphView  # noqa: F401
from .program import LEVELS, PASSES, Program, compile_program  # noqa: F401
from .stabilize import STABILIZE  # noqa: F401
