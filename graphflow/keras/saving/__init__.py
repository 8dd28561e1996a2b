"""Save and load models and weights in the HDF5 layouts of every Keras, via h5py.

Reads files written by Keras 2.0.x, Keras 2.2+/tf.keras 2.x and Keras 3 (``model.save("x.h5")``
and ``save_weights("x.weights.h5")``, any backend); writes files that Keras 2.2+, tf.keras 2.x
and Keras 3 load (see ``writing.py`` for the layout, ``configs.py`` for what is translated).

Safety: files are written atomically (a crash leaves the old file or the new one); every
array graphflow writes carries a digest, checked on load; loading reads and checks
everything before it assigns a single weight, so a damaged, foreign or mismatched file
raises ``LoadError`` (a ``ValueError``) and leaves the model as it was. Nothing is pickled.

    >>> save_model(model, "vgg.h5")
    >>> again = load_model("vgg.h5")
"""
import warnings

import numpy as np

from ..engine.build_budget import build_budget
from .configs import build_model
from .errors import DigestMismatchError, LoadError, Unsupported
from .hdf5 import open_to_read
from .optimizer_state import plan as plan_optimizer
from . import keras3_layout
from .reading import SavedFile, assign, pair, plan_legacy
from .training import compile_from
from .writing import BACKEND, KERAS_VERSION, save_model, save_weights

__all__ = ["save_model", "save_weights", "load_model", "load_weights", "LoadError", "DigestMismatchError",
           "Unsupported", "KERAS_VERSION", "BACKEND"]


def load_weights(model, filepath, by_name=False):
    """Load weights saved by ``save_weights`` or ``save_model``, here or by any Keras.

    Legacy files: layers with weights are matched in order, or by layer name with
    ``by_name=True`` (layers absent from the file are left alone). Keras 3 ``.weights.h5``
    files are always matched by layer name. Raises ``LoadError`` (a ``ValueError``) and
    changes nothing if the file is damaged or does not fit the model.
    """
    def read(saved):
        if saved.layout == "keras3":
            return "keras3", keras3_layout.read(f, saved.budget, saved.graphflow)
        layers = saved.legacy_layers()
        saved.optimizer_entries()  # read (and checked) so the manifest can be verified
        if "model_config" in saved.root.attrs:
            saved.config("model_config")
            saved.config("training_config")
        saved.verify_manifest()
        return "legacy", layers
    with open_to_read(filepath) as f:
        saved = SavedFile(f, filepath)
        layout, layers = read(saved)
        flip = saved.backend in ("theano",)
    try:
        if layout == "keras3":
            plan = keras3_layout.plan(layers, model.layers, by_name, pair)
        else:
            plan = plan_legacy(layers, model.layers, by_name, flip)
    except LoadError as err:
        raise type(err)(f"cannot load {str(filepath)!r} into model {model.name!r}: {err}") from None
    assign(plan)


def load_model(filepath, custom_objects=None, compile=True):
    """Rebuild, and unless ``compile=False`` recompile, a model saved by ``save_model``
    here or by any Keras (``model.save("x.h5")``).

    ``custom_objects`` maps names to your own layers, losses, metrics or optimizers.
    The optimizer state is restored when the file has it and it fits the optimizer.
    """
    custom_objects = custom_objects or {}
    with open_to_read(filepath) as f:
        saved = SavedFile(f, filepath)
        if saved.layout != "legacy" or "model_config" not in f.attrs:
            raise LoadError(f"cannot load {str(filepath)!r}: it has no model_config attribute: was it written "
                            "by save_weights? Build the model in code and call load_weights")
        config = saved.config("model_config")
        training = saved.config("training_config")
        layers = saved.legacy_layers()
        optimizer_entries = saved.optimizer_entries()
        saved.verify_manifest()
        keras3, flip = saved.keras3, saved.backend in ("theano",)
    stored = sum(int(np.size(v)) for _, values in layers for v in values)
    try:
        # the config may not allocate more numbers than the file stores (a Dense(units=5e7)
        # in a small file stops before it allocates; see engine/build_budget.py)
        with build_budget(stored, f"the file {str(filepath)!r}"):
            # the file states its Keras version (a legacy file without one was refused), and
            # that decides what an activation's name means, not the config's look: graphflow
            # writes Keras 3's module keys for wrapped layers into Keras 2 files too
            model = build_model(config, custom_objects, keras3=keras3)
        plan = plan_legacy(layers, model.layers, False, flip)
    except LoadError as err:
        raise type(err)(f"cannot load {str(filepath)!r}: {err}") from None
    assign(plan)
    if not compile:
        return model
    if training is None:
        warnings.warn("No training configuration found in save file: the model was *not* compiled. "
                      "Compile it manually.", stacklevel=2)
        return model
    try:
        compile_from(model, training, custom_objects)
    except LoadError as err:
        raise type(err)(f"cannot compile the model of {str(filepath)!r} (load it with compile=False to skip "
                        f"this): {err}") from None
    if optimizer_entries:
        _restore_optimizer(model, optimizer_entries)
    return model


def _restore_optimizer(model, entries):
    """Put saved optimizer state back; a state that does not fit warns and keeps a fresh
    optimizer, as Keras does, since the model itself loaded fine."""
    optimizer = model.optimizer
    if hasattr(model, "_make_train_function"):
        model._make_train_function()  # optimizer variables are made with the train step
    try:
        plan = plan_optimizer(optimizer, model, entries)
    except LoadError as err:
        warnings.warn(f"the saved optimizer state was not loaded ({err}); the model starts with a freshly "
                      "initialised optimizer", stacklevel=3)
        return
    assign(plan)
