"""Writing models and weights: the legacy HDF5 layout that Keras 2.2+, tf.keras 2.x and
Keras 3 (``keras.models.load_model("x.h5")``) all read, with a digest on every array.

    /  attrs: keras_version, backend, graphflow_version, graphflow_manifest,
              model_config (JSON), training_config (JSON)
    /model_weights  attrs: layer_names, backend, keras_version
        /<layer>  attrs: weight_names; datasets <layer>/<weight>:0 (attr graphflow_digest)
    /optimizer_weights  attrs: weight_names; Keras 3's adam/iteration, adam/learning_rate,
                        adam/<layer>_<weight>_momentum, ...

``save_weights`` writes the ``model_weights`` part at the root, and links each array a
second time where Keras 3's ``.weights.h5`` layout expects it (``layers/<key>/vars/<i>``,
see ``keras3_layout.py``: HDF5 hard links, no copy), so Keras 2 (``load_weights("w.h5")``) and Keras 3
(``load_weights("w.weights.h5")``) both read the same file.
"""
import json

import numpy as np

import graphflow

from .._utils import json_default
from . import keras3_layout
from .configs import write_model_config
from .digest import MANIFEST_ATTR, VERSION_ATTR, manifest_digest
from .hdf5 import b, open_to_write, write_array, write_text_list
from .optimizer_state import write_entries
from .training import write_training_config

# The layout generation the files follow: dict-shaped Sequential configs with an explicit
# InputLayer, as Keras 2.2+ wrote them (Keras 3 and tf.keras read it as well).
KERAS_VERSION = "2.2.0"
# Files name the convolution convention, not the engine: graphflow's conv2d is TensorFlow's
# cross-correlation, and Keras 2 flips conv kernels when a file's backend differs from its own,
# so 'tensorflow' makes our files load correctly in Keras 2 on TensorFlow and on Theano.
BACKEND = "tensorflow"
_KERAS3_GROUPS = ("layers", "vars", "optimizer")


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Write architecture, weights, training configuration and optimizer state to HDF5.

    ``overwrite=False`` raises ``FileExistsError`` if ``filepath`` exists (Keras 2 asked
    on the terminal instead).
    """
    texts = {"model_config": json.dumps(write_model_config(model), default=json_default)}
    optimizer = getattr(model, "optimizer", None)
    entries = []
    if include_optimizer and optimizer is not None:
        texts["training_config"] = json.dumps(write_training_config(model), default=json_default)
        entries = write_entries(optimizer, model)

    def write(f):
        _stamp(f.attrs)
        for key, text in texts.items():
            f.attrs[key] = b(text)
        contents = write_layers(f.create_group("model_weights"), model.layers)
        if entries:
            contents.append(["optimizer_weights", write_values(f.create_group("optimizer_weights"), entries)])
        f.attrs[MANIFEST_ATTR] = b(manifest_digest(texts, contents))
    with open_to_write(filepath, overwrite) as f:
        write(f)


def save_weights(model, filepath, overwrite=True):
    """Write the weights of ``model.layers`` (the ``model_weights`` layout, at the root,
    mirrored in Keras 3's ``.weights.h5`` layout)."""
    with open_to_write(filepath, overwrite) as f:
        _stamp(f.attrs)
        contents = write_layers(f, model.layers)
        f.attrs[MANIFEST_ATTR] = b(manifest_digest({}, contents))
        if not any(layer.name in _KERAS3_GROUPS for layer in model.layers):
            datasets = {id(var): f[layer.name][name] for layer in model.layers
                        for var, name in zip(layer.weights, weight_names(layer.weights))}
            keras3_layout.link(f, datasets, model)


def _stamp(attrs):
    attrs["keras_version"] = b(KERAS_VERSION)
    attrs["backend"] = b(BACKEND)
    attrs[VERSION_ATTR] = b(graphflow.__version__)


def write_layers(group, layers):
    """One group per layer with its weights; returns the table of contents for the
    manifest: ``[[layer, [[weight name, digest], ...]], ...]``."""
    write_text_list(group.attrs, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = b(BACKEND)
    group.attrs["keras_version"] = b(KERAS_VERSION)
    contents = []
    for layer in layers:
        names = weight_names(layer.weights)
        values = [(n, v.get_value()) for n, v in zip(names, layer.weights)]
        contents.append([layer.name, write_values(group.create_group(layer.name), values)])
    return contents


def weight_names(variables):
    """TensorFlow-Keras names (``dense_1/kernel:0``), made unique within a layer."""
    names = []
    for i, var in enumerate(variables):
        name = str(getattr(var, "name", "") or f"param_{i}")
        name = name if ":" in name else name + ":0"
        names.append(name if name not in names else f"param_{i}:0")
    return names


def write_values(group, entries):
    """Datasets for ``[(name, array)]`` plus the ``weight_names`` attribute listing them."""
    write_text_list(group.attrs, "weight_names", [n for n, _ in entries])
    return [[name, write_array(group, name, np.asarray(value))] for name, value in entries]
