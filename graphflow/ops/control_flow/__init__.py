"""Control flow as ops: ``scan`` (Theano), ``while_loop`` and ``cond`` (TF 1.x).

A loop or a branch is one node whose op holds its body, a sub-graph the compiler
compiles like any other graph (see docs/control-flow.md)."""
from .body import Body  # noqa: F401
from .loop import Loop  # noqa: F401
from .scan import scan  # noqa: F401
from .while_loop import while_loop  # noqa: F401
from .cond import Cond, cond  # noqa: F401
