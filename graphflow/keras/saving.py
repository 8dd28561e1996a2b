"""Save and load models and weights in Keras 2's HDF5 layout (via h5py), both ways.

A file written here can be read by Keras 2, and a Keras 2 file (TensorFlow, Theano or
CNTK backend) can be read here. Layout, as Keras 2.0.6 writes it:

    /  attrs: keras_version, backend, model_config (JSON {class_name, config}),
              training_config (JSON: optimizer_config, loss, metrics, sample_weight_mode,
              loss_weights)
    /model_weights  attrs: layer_names, backend, keras_version
        /<layer name>  attrs: weight_names; datasets such as conv2d_1/kernel:0
    /optimizer_weights  attrs: weight_names; one dataset per optimizer variable

(``save_weights`` writes the ``model_weights`` part at the file root.) Strings are stored
as NumPy byte strings, as Keras did. Nothing is ever pickled.

Safety: a file is written to a temporary file in the same folder, flushed to disk and
then renamed over the target, so a crash never leaves a half-written checkpoint. Loading
reads and checks everything -- layout, counts, shapes -- before it assigns a single
weight, so a corrupt or foreign file raises ``ValueError`` and leaves the model as it was.

    >>> save_model(model, "vgg.h5")                     # doctest: +SKIP
    >>> again = load_model("vgg.h5")                    # doctest: +SKIP
"""
import json
import os
import warnings

import h5py
import numpy as np

from graphflow.utils import atomic_path

from ._utils import json_default

KERAS_VERSION = "2.0.6"
# Files name the convolution convention, not the engine: graphflow's conv2d is TensorFlow's
# cross-correlation, and Keras 2 flips conv kernels when a file's backend differs from its own,
# so 'tensorflow' makes our files load correctly in Keras 2 on TensorFlow and on Theano.
BACKEND = "tensorflow"
# Keras 2's Theano backend computed true convolutions (flipped kernels); TensorFlow, CNTK
# and graphflow compute cross-correlations. Kernels from Theano files are flipped on load.
READABLE_BACKENDS = ("graphflow", "tensorflow", "theano", "cntk")
_FLIPPED_BACKENDS = ("theano",)
_CONV_LAYERS = ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose")


class _Unreadable(ValueError):
    """Internal: a layout problem, reported with the file's path by the caller."""


# ------------------------------------------------------------------ public API

def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Write architecture, weights, training configuration and optimizer state to HDF5.

    ``overwrite=False`` raises ``FileExistsError`` if ``filepath`` exists (Keras 2 asked
    on the terminal instead).
    """
    config = {"class_name": type(model).__name__, "config": model.get_config()}
    optimizer = getattr(model, "optimizer", None)

    def write(f):
        f.attrs["keras_version"] = _b(KERAS_VERSION)
        f.attrs["backend"] = _b(BACKEND)
        f.attrs["model_config"] = _b(json.dumps(config, default=json_default))
        _write_layers(f.create_group("model_weights"), model.layers)
        if include_optimizer and optimizer is not None:
            f.attrs["training_config"] = _b(json.dumps(_training_config(model), default=json_default))
            _write_optimizer(f, optimizer)
    _write_atomically(filepath, overwrite, write)


def save_weights(model, filepath, overwrite=True):
    """Write the weights of ``model.layers`` (the ``model_weights`` layout, at the root)."""
    _write_atomically(filepath, overwrite, lambda f: _write_layers(f, model.layers))


def load_weights(model, filepath, by_name=False):
    """Load weights saved by ``save_weights`` or ``save_model`` (here or by Keras 2).

    By default layers with weights are matched in order; ``by_name=True`` matches them by
    layer name and leaves layers absent from the file untouched. Raises ``ValueError``
    (and changes nothing) if the file does not fit the model.
    """
    saved = _read_file(filepath, _read_saved_layers)
    _assign(_fit_to(filepath, saved, model.layers, by_name))


def load_model(filepath, custom_objects=None, compile=True):
    """Rebuild, and unless ``compile=False`` recompile, a model saved by ``save_model``.

    ``custom_objects`` maps names to your own layers, losses, metrics or optimizers.
    The optimizer state is restored when the file has it and it fits the optimizer.
    """
    custom_objects = custom_objects or {}

    def read(f):
        if "model_config" not in f.attrs:
            raise _Unreadable("it has no model_config attribute: was it written by "
                              "save_weights? Build the model in code and call load_weights")
        training = _json_attr(f, "training_config") if "training_config" in f.attrs else None
        optimizer_values = (_read_values(f, "optimizer_weights") if "optimizer_weights" in f
                            else [])
        return _json_attr(f, "model_config"), training, optimizer_values, _read_saved_layers(f)
    config, training, optimizer_values, saved = _read_file(filepath, read)
    from .models import model_from_config
    model = model_from_config(config, custom_objects=custom_objects)
    _assign(_fit_to(filepath, saved, model.layers, by_name=False))
    if not compile:
        return model
    if training is None:
        warnings.warn("No training configuration found in save file: the model was *not* "
                      "compiled. Compile it manually.", stacklevel=2)
        return model
    _compile_from(model, training, custom_objects)
    if optimizer_values:
        _restore_optimizer(model, optimizer_values)
    return model


# ------------------------------------------------------------------ writing

def _write_atomically(filepath, overwrite, write):
    """Write through ``write(h5file)`` into a temporary file beside ``filepath``, make it
    durable, then rename it into place: readers see the old file or the new, never half."""
    with atomic_path(filepath, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            write(f)


def _write_layers(group, layers):
    group.attrs["layer_names"] = [_b(layer.name) for layer in layers]
    group.attrs["backend"] = _b(BACKEND)
    group.attrs["keras_version"] = _b(KERAS_VERSION)
    for layer in layers:
        _write_values(group.create_group(layer.name), layer.weights)


def _write_optimizer(f, optimizer):
    variables = list(getattr(optimizer, "weights", []) or [])
    if variables:
        _write_values(f.create_group("optimizer_weights"), variables)


def _write_values(group, variables):
    names = []
    for i, var in enumerate(variables):
        name = str(getattr(var, "name", "") or f"param_{i}")
        name = name if ":" in name else name + ":0"  # TensorFlow-Keras spelling
        if name in names:
            name = f"param_{i}"
        names.append(name)
    group.attrs["weight_names"] = [_b(n) for n in names]
    for name, var in zip(names, variables):
        group.create_dataset(name, data=np.asarray(var.get_value()))


def _training_config(model):
    optimizer = model.optimizer
    return {"optimizer_config": {"class_name": type(optimizer).__name__,
                                 "config": optimizer.get_config()},
            "loss": getattr(model, "loss", None),
            "metrics": getattr(model, "metrics", None),
            "sample_weight_mode": getattr(model, "sample_weight_mode", None),
            "loss_weights": getattr(model, "loss_weights", None)}


# ------------------------------------------------------------------ reading

def _read_file(filepath, read):
    """Open ``filepath`` and run ``read(f)``, turning every layout fault into one message."""
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"no file at {filepath!r}")
    try:
        with h5py.File(filepath, "r") as f:
            _check_origin(f)
            return read(f)
    except _Unreadable as err:
        raise ValueError(f"cannot load {filepath!r}: {err}") from None
    except (OSError, KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"cannot load {filepath!r}: it is not a readable Keras 2 HDF5 file "
                         f"(truncated, corrupt or of another layout): {err}") from None


def _check_origin(f):
    """Refuse files that are not Keras 2 weights before reading any array."""
    group = f["model_weights"] if "model_weights" in f else f
    if "layer_names" not in group.attrs and "layer_names0" not in group.attrs:
        raise _Unreadable("it has no layer_names attribute, so it holds no Keras weights")
    # Keras 1 wrote no keras_version
    version = _text(f.attrs.get("keras_version", group.attrs.get("keras_version", b"1")))
    if not version.startswith("2"):
        raise _Unreadable(f"it was written by Keras {version}; only Keras 2 files are supported")
    backend = _text(group.attrs.get("backend", f.attrs.get("backend", b"")))
    if backend and backend not in READABLE_BACKENDS:
        raise _Unreadable(f"it was written with backend {backend!r}; graphflow reads files "
                          f"from {', '.join(READABLE_BACKENDS)}")


def _read_saved_layers(f):
    """The file's (layer name, [arrays]) for layers with weights, with Theano kernels
    already flipped to cross-correlation; reads everything, so faults surface here."""
    group = f["model_weights"] if "model_weights" in f else f
    flip = _text(group.attrs.get("backend", b"")) in _FLIPPED_BACKENDS
    saved = []
    for name in _names(group.attrs, "layer_names"):
        if name not in group:
            raise _Unreadable(f"layer_names lists {name!r} but there is no such group")
        values = _read_values(group, name)
        if values:
            saved.append((name, values, flip))
    return saved


def _fit_to(filepath, saved, layers, by_name):
    try:
        return _plan_layer_weights(saved, layers, by_name)
    except _Unreadable as err:
        raise ValueError(f"cannot load {os.fspath(filepath)!r} into this model: {err}") from None


def _plan_layer_weights(saved, layers, by_name):
    """Pair the saved layer weights with the model's variables, checking counts and
    shapes; returns [(variable, array)] without assigning anything."""
    if by_name:
        index = {}
        for layer in layers:
            index.setdefault(layer.name, []).append(layer)
        pairs = [(layer, name, values, flip) for name, values, flip in saved
                 for layer in index.get(name, [])]
    else:
        weighted = [layer for layer in layers if layer.weights]
        if len(saved) != len(weighted):
            raise _Unreadable(f"it holds weights for {len(saved)} layers "
                              f"({', '.join(s[0] for s in saved)}) but the model has "
                              f"{len(weighted)} layers with weights "
                              f"({', '.join(layer.name for layer in weighted)})")
        pairs = [(layer, *entry) for layer, entry in zip(weighted, saved)]
    plan = []
    for layer, name, values, flip in pairs:
        if flip and type(layer).__name__ in _CONV_LAYERS:
            values = [_flip_kernel(values[0])] + values[1:]
        plan.extend(_pair(layer.weights, values, f"layer {layer.name!r} (file layer {name!r})"))
    return plan


def _pair(variables, values, where):
    if len(variables) != len(values):
        raise _Unreadable(f"{where} expects {len(variables)} weights but the file has "
                          f"{len(values)}")
    for var, value in zip(variables, values):
        shape = tuple(var.get_value().shape)
        if tuple(value.shape) != shape:
            raise _Unreadable(f"{where}: weight {var.name!r} has shape {shape} but the file's "
                              f"value has shape {tuple(value.shape)}")
        if value.dtype.kind not in "biuf":
            raise _Unreadable(f"{where}: weight {var.name!r} is stored as {value.dtype}, "
                              "not as numbers")
    return list(zip(variables, values))


def _read_values(group, name):
    """The arrays of ``group[name]``, in the order of its weight_names attribute."""
    g = group[name]
    return [np.asarray(g[n][()]) for n in _names(g.attrs, "weight_names")]


def _flip_kernel(kernel):
    """Reverse the spatial axes of a (spatial..., in, out) kernel."""
    spatial = kernel.ndim - 2
    return np.ascontiguousarray(kernel[(slice(None, None, -1),) * spatial])


def _assign(plan):
    """Set every value, or none: on a failure midway the old values are put back."""
    old = [var.get_value() for var, _ in plan]
    try:
        for var, value in plan:
            var.set_value(value)
    except Exception:
        for (var, _), value in zip(plan, old):
            var.set_value(value)
        raise


def _compile_from(model, training, custom_objects):
    from . import optimizers
    optimizer = optimizers.deserialize(training["optimizer_config"], custom_objects=custom_objects)
    model.compile(optimizer=optimizer,
                  loss=_custom(training.get("loss"), custom_objects),
                  metrics=_custom(training.get("metrics"), custom_objects),
                  loss_weights=training.get("loss_weights"),
                  sample_weight_mode=training.get("sample_weight_mode"))


def _restore_optimizer(model, values):
    """Put saved optimizer state back; a mismatch warns and keeps a fresh optimizer,
    as later Keras 2 versions did, since the model itself loaded fine."""
    optimizer = model.optimizer
    if hasattr(model, "_make_train_function"):
        model._make_train_function()  # optimizer variables are made with the train step
    variables = list(getattr(optimizer, "weights", []) or [])
    try:
        plan = _pair(variables, values, f"optimizer {type(optimizer).__name__}")
    except _Unreadable as err:
        warnings.warn(f"the saved optimizer state was not loaded ({err}); the model starts "
                      "with a freshly initialised optimizer", stacklevel=3)
        return
    _assign(plan)


def _custom(obj, custom_objects):
    """Replace names found in ``custom_objects`` by the objects, inside lists and dicts."""
    if isinstance(obj, list):
        return [_custom(o, custom_objects) for o in obj]
    if isinstance(obj, dict):
        return {k: _custom(v, custom_objects) for k, v in obj.items()}
    return custom_objects.get(obj, obj) if isinstance(obj, str) else obj


# ------------------------------------------------------------------ attributes

def _b(text):
    """A NumPy byte string, the attribute type Keras 2 wrote."""
    return np.bytes_(text.encode("utf8"))


def _text(value):
    return value.decode("utf8") if isinstance(value, (bytes, np.bytes_)) else str(value)


def _names(attrs, key):
    """A list-of-strings attribute, also in the chunked form (key0, key1, ...) that Keras
    2.1+ uses when the list is longer than an HDF5 attribute can hold."""
    if key in attrs:
        chunks = [attrs[key]]
    else:
        chunks, i = [], 0
        while f"{key}{i}" in attrs:
            chunks.append(attrs[f"{key}{i}"])
            i += 1
        if not chunks:
            raise _Unreadable(f"the {key} attribute is missing")
    return [_text(n) for chunk in chunks for n in np.atleast_1d(chunk)]


def _json_attr(f, key):
    try:
        return json.loads(_text(f.attrs[key]))
    except json.JSONDecodeError as err:
        raise _Unreadable(f"its {key} attribute is not valid JSON ({err})") from None
