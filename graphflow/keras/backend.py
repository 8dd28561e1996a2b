"""``graphflow.keras.backend`` (``K``): Keras 2's configuration and a few tensor helpers.

Configuration, read once at import (never written): ``~/.graphflow/keras.json`` when it
exists (keys ``image_data_format``, ``floatx``, ``epsilon``), else the
``image_data_format`` of ``~/.keras/keras.json`` when that exists, else the Keras 2
defaults (channels_last, float32, 1e-7).

    >>> from graphflow.keras import backend as K
    >>> K.image_data_format(), K.floatx(), K.epsilon()
    ('channels_last', 'float32', 1e-07)

The tensor helpers take and return graphflow tensors, for custom losses and metrics
written the Keras 2 way (``K.mean(K.square(y_pred - y_true), axis=-1)``).
"""
import builtins
import json
import os
import re
import warnings
from collections import defaultdict

import numpy as np

import graphflow as gf

_DEFAULTS = {"image_data_format": "channels_last", "floatx": "float32", "epsilon": 1e-7}
_FORMATS = ("channels_first", "channels_last")
_FLOATS = ("float16", "float32", "float64")
_config = dict(_DEFAULTS)
_uids = defaultdict(int)


# ---------------------------------------------------------------- configuration

def _read_json(path):
    try:
        with open(path, encoding="utf8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError) as err:
        warnings.warn(f"graphflow.keras: ignoring unreadable config file {path} ({err})", stacklevel=3)
        return {}


def reload_config(home=None):
    """Re-read the user's config files (see the module docstring) and return the config.
    ``home`` defaults to ``~``. Invalid values are ignored with a warning."""
    home = os.path.expanduser("~") if home is None else str(home)
    found = dict(_DEFAULTS)
    own = os.path.join(home, ".graphflow", "keras.json")
    theirs = os.path.join(home, ".keras", "keras.json")
    if os.path.isfile(own):
        data = _read_json(own)
        keys = ("image_data_format", "floatx", "epsilon")
    elif os.path.isfile(theirs):
        data = _read_json(theirs)
        keys = ("image_data_format",)
    else:
        data, keys = {}, ()
    checks = {"image_data_format": lambda v: v in _FORMATS, "floatx": lambda v: v in _FLOATS,
              "epsilon": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0}
    for key in keys:
        if key in data:
            if checks[key](data[key]):
                found[key] = data[key]
            else:
                warnings.warn(f"graphflow.keras: ignoring {key}={data[key]!r} in the config file",
                              stacklevel=2)
    _config.clear()
    _config.update(found)
    return dict(_config)


def image_data_format():
    """'channels_last' (N, H, W, C) or 'channels_first' (N, C, H, W)."""
    return _config["image_data_format"]


def set_image_data_format(data_format):
    """Set the default layout of image layers made from now on."""
    if data_format not in _FORMATS:
        raise ValueError(f"Unknown data_format: {data_format!r}; expected 'channels_first' or "
                         f"'channels_last'")
    _config["image_data_format"] = str(data_format)


def image_dim_ordering():
    """Keras 1 spelling: 'th' for channels_first, 'tf' for channels_last."""
    return "th" if image_data_format() == "channels_first" else "tf"


def set_image_dim_ordering(dim_ordering):
    """Keras 1 spelling of ``set_image_data_format`` ('th' or 'tf')."""
    if dim_ordering not in ("th", "tf"):
        raise ValueError(f"Unknown dim_ordering: {dim_ordering!r}; expected 'th' or 'tf'")
    set_image_data_format("channels_first" if dim_ordering == "th" else "channels_last")


def floatx():
    """The default float dtype of weights and inputs: 'float32'."""
    return _config["floatx"]


def set_floatx(value):
    """Set the default float dtype ('float16', 'float32' or 'float64')."""
    if value not in _FLOATS:
        raise ValueError(f"Unknown floatx type: {value!r}; expected one of {_FLOATS}")
    _config["floatx"] = str(value)


def epsilon():
    """The fuzz factor of cross-entropy clipping and BatchNormalization: 1e-7."""
    return _config["epsilon"]


def set_epsilon(e):
    """Set the fuzz factor."""
    _config["epsilon"] = float(e)


def cast_to_floatx(x):
    """``x`` as a NumPy array of dtype ``floatx()``."""
    return np.asarray(x, dtype=floatx())


def backend():
    """The name of the engine underneath: 'graphflow'."""
    return "graphflow"


def get_uid(prefix=""):
    """1, 2, 3... per prefix: how layers get the names conv2d_1, conv2d_2, dense_1."""
    _uids[prefix] += 1
    return _uids[prefix]


def reset_uids():
    """Start layer-name counters again from 1."""
    _uids.clear()


def clear_session():
    """Reset layer-name counters (graphflow has no global graph to tear down)."""
    reset_uids()


# ---------------------------------------------------------------- variables

def variable(value, dtype=None, name=None):
    """A graphflow variable holding ``value`` (dtype defaults to floatx)."""
    name = re.sub(r"[^A-Za-z0-9_.\-/]", "_", name) if name else None
    return gf.variable(np.asarray(value, dtype=dtype or floatx()), name=name)


def get_value(x):
    """The value of a variable as a NumPy array."""
    return x.get_value()


def batch_get_value(xs):
    return [x.get_value() for x in xs]


def set_value(x, value):
    """Assign ``value`` (cast to the variable's dtype) to variable ``x``."""
    x.set_value(np.asarray(value, dtype=x.dtype))


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


def count_params(x):
    return int(np.prod(x.shape, dtype=np.int64))


def int_shape(x):
    """The static shape as a tuple (``None`` for unknown dims)."""
    shape = getattr(x, "_keras_shape", None)
    return tuple(shape if shape is not None else x.shape)


def ndim(x):
    return len(int_shape(x))


def dtype(x):
    return x.dtype


def placeholder(shape=None, ndim=None, dtype=None, name=None):
    """A graphflow placeholder (``ndim`` alone gives all-unknown dims)."""
    shape = shape if shape is not None else (None,) * int(ndim)
    return gf.placeholder(tuple(shape), dtype or floatx(), name)


# ---------------------------------------------------------------- tensor helpers

def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def mean(x, axis=None, keepdims=False):
    return gf.mean(x, _axis(axis), keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001 (Keras's name)
    return gf.sum(x, _axis(axis), keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return gf.max(x, _axis(axis), keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return gf.min(x, _axis(axis), keepdims)


def prod(x, axis=None, keepdims=False):
    return gf.prod(x, _axis(axis), keepdims)


def std(x, axis=None, keepdims=False):
    return gf.std(x, _axis(axis), keepdims)


def var(x, axis=None, keepdims=False):
    return gf.var(x, _axis(axis), keepdims)


def argmax(x, axis=-1):
    return gf.argmax(x, axis)


def argmin(x, axis=-1):
    return gf.argmin(x, axis)


def cast(x, dtype):
    return gf.cast(x, dtype)


def equal(x, y):
    return gf.equal(x, y)


def not_equal(x, y):
    return gf.not_equal(x, y)


def greater(x, y):
    return gf.greater(x, y)


def less(x, y):
    return gf.less(x, y)


def clip(x, min_value, max_value):
    """Element-wise clip; ``None`` leaves that side open."""
    lo = -np.inf if min_value is None else float(min_value)
    hi = np.inf if max_value is None else float(max_value)
    return gf.clip(x, lo, builtins.max(lo, hi))


def round(x):  # noqa: A001
    """Round to the nearest integer, halves to even (as TensorFlow's round)."""
    r = gf.floordiv(x + 0.5, 1.0)
    tie_to_odd = gf.logical_and(gf.equal(r - x, 0.5), gf.equal(gf.mod(r, 2.0), 1.0))
    return gf.where(tie_to_odd, r - 1.0, r)


def in_top_k(predictions, targets, k):
    """Whether each row's target class is among its ``k`` largest predictions (ties count
    as in, as TensorFlow's in_top_k). ``targets`` holds integer class indices."""
    classes = predictions.shape[-1]
    target_score = gf.sum(predictions * gf.nn.one_hot(targets, classes, predictions.dtype), -1, keepdims=True)
    above = gf.sum(gf.cast(gf.greater(predictions, target_score), "int32"), -1)
    return gf.less(above, int(k))


def l2_normalize(x, axis=-1):
    return x / gf.sqrt(gf.maximum(gf.sum(gf.square(x), axis, keepdims=True), 1e-12))


def dot(x, y):
    return gf.dot(x, y)


def batch_flatten(x):
    return gf.flatten(x)


def flatten(x):
    return gf.reshape(x, (-1,))


def reshape(x, shape):
    return gf.reshape(x, shape)


def transpose(x):
    return gf.transpose(x)


def permute_dimensions(x, pattern):
    return gf.transpose(x, tuple(pattern))


def expand_dims(x, axis=-1):
    return gf.expand_dims(x, axis)


def squeeze(x, axis):
    return gf.squeeze(x, axis)


def concatenate(tensors, axis=-1):
    return gf.concatenate(list(tensors), axis)


def softmax(x):
    return gf.nn.softmax(x)


def categorical_crossentropy(target, output, from_logits=False):
    """Per-sample cross-entropy. NOTE: (target, output) order, as Keras >= 2.0.7; Keras
    2.0.6's backend took (output, target)."""
    return gf.nn.categorical_crossentropy(target, output, from_logits=from_logits, epsilon=epsilon())


def sparse_categorical_crossentropy(target, output, from_logits=False):
    """(target, output) order, as Keras >= 2.0.7."""
    return gf.nn.sparse_categorical_crossentropy(target, output, from_logits=from_logits,
                                                 epsilon=epsilon())


def binary_crossentropy(target, output, from_logits=False):
    """Element-wise; (target, output) order, as Keras >= 2.0.7."""
    return gf.nn.binary_crossentropy(target, output, from_logits=from_logits, epsilon=epsilon())


def ones_like(x):
    return gf.ones_like(x) if hasattr(gf, "ones_like") else x * 0 + 1


def zeros_like(x):
    return gf.zeros_like(x) if hasattr(gf, "zeros_like") else x * 0


for _name in ("abs", "exp", "log", "sqrt", "square", "sign", "tanh", "sigmoid", "relu", "softplus",
              "maximum", "minimum", "pow", "stop_gradient", "greater_equal", "less_equal", "where"):
    globals()[_name] = getattr(gf, _name)
del _name

reload_config()
