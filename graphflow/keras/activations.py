"""Activations by name, as Keras 2's ``keras.activations``: each takes and returns a
graphflow tensor.

    >>> from graphflow.keras import activations
    >>> activations.get("relu")          # the function
"""
import graphflow as gf

from ._utils import Lookup


def softmax(x, axis=-1):
    """Softmax over the last axis (a rank-1 input is refused, as in Keras 2)."""
    if x.ndim < 2:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D (shape {x.shape})")
    return gf.nn.softmax(x, axis=axis)


def elu(x, alpha=1.0):
    return gf.nn.elu(x, alpha)


def selu(x):
    return gf.nn.selu(x)


def softplus(x):
    return gf.softplus(x)


def softsign(x):
    return gf.nn.softsign(x)


def relu(x, alpha=0.0, max_value=None):
    """max(x, 0), with a leaky slope ``alpha`` below 0 and an optional cap."""
    y = gf.relu(x) if alpha == 0 else gf.nn.leaky_relu(x, alpha)
    return y if max_value is None else gf.minimum(y, max_value)


def tanh(x):
    return gf.tanh(x)


def sigmoid(x):
    return gf.sigmoid(x)


def hard_sigmoid(x):
    """clip(0.2 x + 0.5, 0, 1)."""
    return gf.nn.hard_sigmoid(x)


def linear(x):
    return x


def gelu(x):
    return gf.nn.gelu(x)


_ALL = {f.__name__: f for f in (softmax, elu, selu, softplus, softsign, relu, tanh, sigmoid,
                                hard_sigmoid, linear, gelu)}


_lookup = Lookup(_ALL, "activation function", default=linear)
deserialize = _lookup.deserialize
get = _lookup.get  # None -> linear; a name -> the function; a callable -> itself


def serialize(activation):
    """The name of an activation function."""
    return getattr(activation, "__name__", activation)
