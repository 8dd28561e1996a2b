"""Variables made equal across the ranks, as a compiled graph (``broadcast`` ops as
updates), so the exchange is one fused message per dtype."""
from __future__ import annotations

from ..graph import Variable
from ..ops.collective import broadcast
from ..runtime import function


def broadcast_variables(variables, root=0) -> None:
    """Give every variable rank ``root``'s value on every rank (all ranks must call it
    with the same variables, in the same order).

    >>> dist.broadcast_variables(model.weights + model.optimizer.weights, root=0)
    """
    variables = list(variables)
    if not all(isinstance(v, Variable) for v in variables):
        bad = next(v for v in variables if not isinstance(v, Variable))
        raise TypeError(f"broadcast_variables takes graphflow variables, got {type(bad).__name__}")
    if not variables:
        return
    values = broadcast(variables, root=root, name="broadcast_variables")
    function([], [], updates=list(zip(variables, values)), name="broadcast_variables")()
