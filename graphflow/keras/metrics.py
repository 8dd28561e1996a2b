"""Metrics, as Keras 2's ``keras.metrics``: ``metric(y_true, y_pred)`` returns one value
per sample (or a scalar); the model logs its batch mean.

``metrics=['accuracy']`` (or 'acc') is logged as ``acc`` and resolved as Keras 2 did:
binary_accuracy if the output has one unit or the loss is binary_crossentropy,
sparse_categorical_accuracy for sparse_categorical_crossentropy, else
categorical_accuracy.
"""
import graphflow as gf

from . import backend as K
from . import losses
from ._utils import Lookup
from .losses import (KLD, MAE, MAPE, MSE, MSLE, binary_crossentropy, categorical_crossentropy,  # noqa: F401
                     cosine, cosine_proximity, hinge, kld, kullback_leibler_divergence, logcosh, mae,
                     mape, mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                     mean_squared_logarithmic_error, mse, msle, poisson, sparse_categorical_crossentropy,
                     squared_hinge)


def _floatx(t):
    return gf.cast(t, K.floatx())


def binary_accuracy(y_true, y_pred):
    """mean(y_true == round(y_pred)) over the last axis."""
    return gf.mean(_floatx(gf.equal(y_true, K.round(y_pred))), -1)


def categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_true) == argmax(y_pred), else 0."""
    return _floatx(gf.equal(gf.argmax(y_true, -1), gf.argmax(y_pred, -1)))


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the integer label (last axis of y_true, length 1) == argmax(y_pred)."""
    return _floatx(gf.equal(gf.max(y_true, -1), _floatx(gf.argmax(y_pred, -1))))


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Fraction of samples whose true class is among the ``k`` highest predictions."""
    return gf.mean(_floatx(K.in_top_k(y_pred, gf.argmax(y_true, -1), k)), -1)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    labels = gf.cast(gf.max(y_true, -1), "int64")
    return gf.mean(_floatx(K.in_top_k(y_pred, labels, k)), -1)


_ALL = {k: v for k, v in globals().items() if callable(v) and not k.startswith("_")
        and getattr(v, "__module__", None) in (__name__, losses.__name__)}


def accuracy_for(loss_fn, output_shape):
    """The accuracy function Keras 2 picks for 'acc' / 'accuracy'."""
    if (output_shape and output_shape[-1] == 1) or loss_fn is losses.binary_crossentropy:
        return binary_accuracy
    if loss_fn is losses.sparse_categorical_crossentropy:
        return sparse_categorical_accuracy
    return categorical_accuracy


_lookup = Lookup(_ALL, "metric function")
deserialize, get = _lookup.deserialize, _lookup.get


def serialize(metric):
    return metric.__name__
