"""Loss functions, as Keras 2's ``keras.losses``: ``loss(y_true, y_pred)`` returns one
value per sample (the mean over the last axis where there is one); ``compile`` averages
them over the batch with the sample weights.

    >>> model.compile(loss="categorical_crossentropy", optimizer="sgd")
"""
import graphflow as gf

from . import backend as K
from ._utils import Lookup


def mean_squared_error(y_true, y_pred):
    return gf.mean(gf.square(y_pred - y_true), -1)


def mean_absolute_error(y_true, y_pred):
    return gf.mean(gf.abs(y_pred - y_true), -1)


def mean_absolute_percentage_error(y_true, y_pred):
    diff = gf.abs((y_true - y_pred) / K.clip(gf.abs(y_true), K.epsilon(), None))
    return 100.0 * gf.mean(diff, -1)


def mean_squared_logarithmic_error(y_true, y_pred):
    first = gf.log(K.clip(y_pred, K.epsilon(), None) + 1.0)
    second = gf.log(K.clip(y_true, K.epsilon(), None) + 1.0)
    return gf.mean(gf.square(first - second), -1)


def squared_hinge(y_true, y_pred):
    return gf.mean(gf.square(gf.maximum(1.0 - y_true * y_pred, 0.0)), -1)


def hinge(y_true, y_pred):
    return gf.mean(gf.maximum(1.0 - y_true * y_pred, 0.0), -1)


def logcosh(y_true, y_pred):
    """log(cosh(y_pred - y_true)), computed without overflow."""
    x = y_pred - y_true
    return gf.mean(x + gf.softplus(-2.0 * x) - 0.6931471805599453, -1)


def categorical_crossentropy(y_true, y_pred):
    """-sum(y_true * log(p)) with p = y_pred / sum(y_pred) clipped to [eps, 1 - eps]."""
    return K.categorical_crossentropy(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred):
    """Cross-entropy with integer labels (shape (batch,) or (batch, 1))."""
    return K.sparse_categorical_crossentropy(y_true, y_pred)


def binary_crossentropy(y_true, y_pred):
    return gf.mean(K.binary_crossentropy(y_true, y_pred), -1)


def kullback_leibler_divergence(y_true, y_pred):
    y_true = K.clip(y_true, K.epsilon(), 1)
    y_pred = K.clip(y_pred, K.epsilon(), 1)
    return gf.sum(y_true * gf.log(y_true / y_pred), -1)


def poisson(y_true, y_pred):
    return gf.mean(y_pred - y_true * gf.log(y_pred + K.epsilon()), -1)


def cosine_proximity(y_true, y_pred):
    return -gf.mean(K.l2_normalize(y_true, -1) * K.l2_normalize(y_pred, -1), -1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence
cosine = cosine_proximity

_ALL = {k: v for k, v in globals().items() if callable(v) and not k.startswith("_")
        and getattr(v, "__module__", None) == __name__}


_lookup = Lookup(_ALL, "loss function")
deserialize = _lookup.deserialize
get = _lookup.get  # a name ('mse', 'categorical_crossentropy') or a function


def serialize(loss):
    return loss.__name__
