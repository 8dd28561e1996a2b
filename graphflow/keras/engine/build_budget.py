"""A bound on what building a model may allocate, while a model is built from a file.

A config read from a file says how big every weight is; ``Dense(units=5e7)`` in a 14 KB
file would allocate gigabytes before a single weight could be compared with the file.
``load_model`` builds the model inside ``build_budget(n)``, ``n`` being the numbers the
file stores: every array a layer makes while building (its weights, any constant it
needs) is charged first, and the build stops with a ``ValueError`` naming the layer
before it allocates more than the file could fill. Outside a budget nothing is counted.

    >>> with build_budget(1000):
    ...     Dense(10)(Input((784,)))       # ValueError: asks for 7850 numbers, file has 1000
"""
import contextlib
import threading

import numpy as np

_state = threading.local()
CONSTANT_FACTOR = 16
CONSTANT_FLOOR = 1 << 24


class _Budget:
    """Numbers left for weights (the file's own) and for other arrays (an allowance)."""

    def __init__(self, elements, source):
        self.stored, self.source = int(elements), source
        self.weights = self.stored
        self.allowance = self.constants = max(CONSTANT_FACTOR * self.stored, CONSTANT_FLOOR)

    def pay(self, layer, what, shape, weight):
        count = float(np.prod([float(d) for d in shape])) if len(shape) else 1.0
        left = self.weights if weight else self.constants
        if count > left:
            rest = f"{left} are left" if weight else f"other arrays may take {self.allowance}"
            raise ValueError(f"layer {layer.name!r} asks for {what} of shape {tuple(shape)} ({count:.0f} "
                             f"numbers), but {self.source} stores {self.stored} numbers in all, of which {rest}: "
                             "the config does not fit the weights saved with it")
        if weight:
            self.weights -= int(count)
        else:
            self.constants -= int(count)


@contextlib.contextmanager
def build_budget(elements, source="the file"):
    """Count (and bound to ``elements``) the numbers allocated while building."""
    previous = getattr(_state, "budget", None)
    _state.budget = _Budget(elements, source)
    try:
        yield
    finally:
        _state.budget = previous


def charge(layer, what, shape, weight=True):
    """Charge an array of ``shape`` that ``layer`` is about to allocate; raises before it
    is allocated when the budget cannot pay for it. Weights are paid from the numbers the
    file stores; other arrays (``weight=False``: a constant a layer needs) from an
    allowance of ``CONSTANT_FACTOR`` times that, at least ``CONSTANT_FLOOR`` numbers."""
    budget = getattr(_state, "budget", None)
    if budget is not None:
        budget.pay(layer, what, shape, weight)
