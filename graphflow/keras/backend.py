"""``graphflow.keras.backend`` (``K``): Keras 2's configuration and a few tensor helpers.

Configuration, read once at import (never written): ``~/.graphflow/keras.json`` when it
exists (keys ``image_data_format``, ``floatx``, ``epsilon``), else the
``image_data_format`` of ``~/.keras/keras.json`` when that exists, else the Keras 2
defaults (channels_last, float32, 1e-7).

    >>> from graphflow.keras import backend as K
    >>> K.image_data_format(), K.floatx(), K.epsilon()
    ('channels_last', 'float32', 1e-07)

The rest of Keras 2's backend API lives in two modules re-exported here: graphs and
state (``K.function``, ``K.gradients``, ``K.placeholder``, ``K.variable``, ``K.eval``,
``K.learning_phase``...; ``graphflow.keras.backend_graph``) and the tensor math custom
layers and losses use (``K.mean(K.square(y_pred - y_true), axis=-1)``, ``K.conv2d``...;
``graphflow.keras.backend_math``). They take and return graphflow tensors.
"""
import json
import os
import warnings
from collections import defaultdict

import numpy as np

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


reload_config()

from .backend_graph import *  # noqa: E402,F401,F403
from .backend_math import *  # noqa: E402,F401,F403
from .backend_rnn import rnn  # noqa: E402,F401
