"""``graphflow.keras``: the Keras 2 (2.0.6) API on graphflow. Port Keras 2 code by
changing its imports:

    >>> import graphflow.keras as keras
    >>> from graphflow.keras.models import Sequential
    >>> from graphflow.keras.layers import Dense, Dropout, Flatten, Conv2D, MaxPooling2D
    >>> from graphflow.keras.optimizers import SGD

``compile()`` builds symbolic train / test / predict graphs and compiles them with
``graphflow.function``, as Keras 2 drove Theano. See docs/keras.md for the supported
surface and the deliberate differences.
"""
import importlib

from . import (activations, backend, callbacks, constraints, initializers, layers, losses, metrics,  # noqa: F401
               models, optimizers, regularizers)
from .engine import Input, Model  # noqa: F401
from .models import Sequential  # noqa: F401

__version__ = "2.0.6"
_LAZY = ("utils", "datasets", "preprocessing", "saving", "distributed")


def __getattr__(name):
    # the data, plotting and saving helpers load on first use (h5py, graphviz, scipy)
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
