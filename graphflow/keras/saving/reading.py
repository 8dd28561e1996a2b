"""Reading saved weights of every layout into a plan ``[(variable, value)]`` that is
assigned all at once, or not at all.

Layouts: the legacy HDF5 one (Keras 2.0-2.15, tf.keras, Keras 3's ``model.save("x.h5")``,
graphflow; ``model_weights`` group in a model file, at the root in a weights file) and
Keras 3's ``.weights.h5`` (``layers/<layer>/vars/<i>``, tf.keras 2.13's
``_layer_checkpoint_dependencies``), which is keyed by layer names only.

Everything is read and checked -- layout, names, counts, shapes, digests -- before a
single value is assigned.
"""
import h5py
import numpy as np

import graphflow as gf

from .digest import MANIFEST_ATTR, VERSION_ATTR, manifest_digest
from .errors import DigestMismatchError, LoadError
from .guard import Budget, hard_child
from .hdf5 import json_attr, read_array, text, text_list
from .keras3_layout import ROOTS as KERAS3_ROOTS

# Keras 2's Theano backend computed true convolutions (flipped kernels); TensorFlow, CNTK,
# Keras 3 (every backend) and graphflow compute cross-correlations.
READABLE_BACKENDS = ("graphflow", "tensorflow", "theano", "cntk", "jax", "torch", "numpy")
_FLIPPED_BACKENDS = ("theano",)
_CONV_LAYERS = ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose")


class SavedFile:
    """What a file holds, read and checked: its origin, its layers' weights, and (for a
    model file) the configs and the optimizer state."""

    def __init__(self, f, filepath):
        self.file_size = f.id.get_filesize()  # the file opened, even if the path was replaced since
        self.budget = Budget(self.file_size)
        self.root = f
        self.weights_group = self._weights_group()
        self.graphflow = VERSION_ATTR in f.attrs or MANIFEST_ATTR in f.attrs
        self.keras_version = text(f.attrs.get("keras_version", self.weights_group.attrs.get(
            "keras_version", b"1")), "keras_version attribute")
        self.keras3 = self.keras_version.startswith("3")
        self.layout = self._layout()
        self._check_origin()
        self.texts, self.contents = {}, []

    def _weights_group(self):
        """The root of a weights file (it lists ``layer_names`` itself, whatever its layers
        are called), else a model file's ``model_weights`` group."""
        f = self.root
        if "layer_names" in f.attrs or "layer_names0" in f.attrs:
            return f
        group = hard_child(f, "model_weights", "group")
        return group if isinstance(group, h5py.Group) else f

    def _layout(self):
        group = self.weights_group
        if "layer_names" in group.attrs or "layer_names0" in group.attrs:
            return "legacy"
        root = self.root
        if any(hard_child(root, k, "group") is not None for k in KERAS3_ROOTS) \
                and hard_child(root, "model_weights", "group") is None:
            return "keras3"
        raise LoadError("it has no layer_names attribute and no Keras 3 'layers' group, so it holds no "
                        "Keras weights")

    def _check_origin(self):
        if self.layout == "keras3":
            self.keras3, self.backend = True, ""
            return
        if self.keras_version.startswith("1"):
            raise LoadError(f"it was written by Keras {self.keras_version}, whose layout graphflow does "
                            "not read (Keras 2.0 to 3 files are read)")
        self.backend = text(self.weights_group.attrs.get("backend", self.root.attrs.get("backend", b"")),
                            "backend attribute")
        if self.backend and self.backend not in READABLE_BACKENDS:
            raise LoadError(f"it was written with backend {self.backend!r}; graphflow reads files from "
                            f"{', '.join(READABLE_BACKENDS)}")

    # ------------------------------------------------------------ pieces
    def config(self, key):
        if key not in self.root.attrs:
            return None
        self.texts[key] = text(self.root.attrs[key], f"{key} attribute")
        return json_attr(self.root.attrs, key)

    def values(self, group, name):
        """``[(weight name, array)]`` of ``group[name]`` in weight_names order."""
        node = hard_child(group, name, "layer group")
        if not isinstance(node, h5py.Group):
            raise LoadError(f"layer_names lists {name!r} but there is no such group")
        names = text_list(node.attrs, "weight_names", required=False) \
            if "weight_names" in node.attrs or "weight_names0" in node.attrs else None
        if names is None:
            raise LoadError(f"the group {name!r} has no weight_names attribute")
        out, digests = [], []
        for n in names:
            value, digest = read_array(node, n, self.budget, self.graphflow)
            out.append((n, value))
            digests.append([n, digest])
        self.contents.append([name, digests])
        return out

    def legacy_layers(self):
        """``[(layer name, [arrays])]`` of the layers with weights, Theano kernels flagged."""
        names = [_layer_name(n) for n in text_list(self.weights_group.attrs, "layer_names")]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise LoadError(f"layer_names lists {dupes} more than once")
        saved = []
        for name in names:
            values = [v for _, v in self.values(self.weights_group, name)]
            if values:
                saved.append((name, values))
        # Keras 3's model-level weights, unless a layer of that name was listed above
        top = None if "top_level_model_weights" in names else \
            hard_child(self.weights_group, "top_level_model_weights", "group")
        if isinstance(top, h5py.Group) and text_list(top.attrs, "weight_names", required=False):
            raise LoadError("it holds top-level model weights (weights of a subclassed Keras 3 model), "
                            "which graphflow models do not have")
        return saved

    def optimizer_entries(self):
        """A model file's optimizer state; a weights file has none (its layers sit at the
        root, where a layer may be called ``optimizer_weights``)."""
        if self.weights_group is self.root or hard_child(self.root, "optimizer_weights", "group") is None:
            return []
        return self.values(self.root, "optimizer_weights")

    def verify_manifest(self):
        """The configs and table of contents of a graphflow file match its manifest."""
        if not self.graphflow:
            return
        saved = self.root.attrs.get(MANIFEST_ATTR)
        if saved is None:
            raise LoadError("it was written by graphflow but has lost its graphflow_manifest attribute")
        if text(saved, "graphflow_manifest attribute") != manifest_digest(self.texts, self.contents):
            raise DigestMismatchError("its configuration or table of contents (layer and weight names) "
                                      "does not match the manifest saved with it: the file was damaged "
                                      "after it was written")


def _layer_name(name):
    """A layer name read from ``layer_names``, held to graphflow's naming rule (a NUL would
    make HDF5 read another group; '/' or '..' another path)."""
    try:
        return gf.check_name(name, "layer name")
    except gf.NameRuleError as err:
        raise LoadError(f"its layer_names attribute lists an {err}") from None


# ------------------------------------------------------------------ planning

def plan_legacy(saved, layers, by_name, flip):
    """Pair ``[(file layer, [arrays])]`` with the model's variables: in order over layers
    with weights, or by name (layers absent from the file are left alone)."""
    if by_name:
        index = {}
        for layer in layers:
            index.setdefault(layer.name, []).append(layer)
        pairs = [(layer, name, values) for name, values in saved for layer in index.get(name, [])]
    else:
        weighted = [layer for layer in layers if layer.weights]
        if len(saved) != len(weighted):
            raise LoadError(f"it holds weights for {len(saved)} layers ({', '.join(s[0] for s in saved)}) but "
                            f"the model has {len(weighted)} layers with weights "
                            f"({', '.join(layer.name for layer in weighted)})")
        pairs = [(layer, *entry) for layer, entry in zip(weighted, saved)]
    plan = []
    for layer, name, values in pairs:
        if flip and _convolves(layer):
            values = [_flip_kernel(values[0])] + values[1:]
        plan.extend(pair(layer.weights, values, f"layer {layer.name!r} (file layer {name!r})"))
    return plan


def pair(variables, values, where):
    if len(variables) != len(values):
        raise LoadError(f"{where} expects {len(variables)} weights but the file has {len(values)}")
    for var, value in zip(variables, values):
        shape = tuple(var.get_value().shape)
        if tuple(value.shape) != shape:
            raise LoadError(f"{where}: weight {var.name!r} has shape {shape} but the file's value has shape "
                            f"{tuple(value.shape)}")
        if not np.can_cast(value.dtype, var.get_value().dtype, "same_kind"):
            raise LoadError(f"{where}: weight {var.name!r} holds {var.get_value().dtype}; the file has "
                            f"{value.dtype}")
    return list(zip(variables, values))


def _convolves(layer):
    """A convolution layer, or one wrapped by TimeDistributed (2.0.6 flips its kernel too)."""
    if type(layer).__name__ == "TimeDistributed":
        layer = layer.layer
    return type(layer).__name__ in _CONV_LAYERS


def _flip_kernel(kernel):
    """Reverse the spatial axes of a (spatial..., in, out) kernel."""
    spatial = kernel.ndim - 2
    return np.ascontiguousarray(kernel[(slice(None, None, -1),) * spatial])


def assign(plan):
    """Set every value, or none: on a failure midway the old values are put back."""
    old = [var.get_value() for var, _ in plan]
    try:
        for var, value in plan:
            var.set_value(np.asarray(value, dtype=var.get_value().dtype))
    except BaseException:
        for (var, _), value in zip(plan, old):
            var.set_value(value)
        raise
