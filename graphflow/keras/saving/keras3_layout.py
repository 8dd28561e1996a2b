"""Keras 3's ``.weights.h5`` layout, read and written (as hard links beside the legacy one).

Keras 3 keeps each layer's variables under ``layers/<key>/vars/<i>`` (a nested model's
under ``layers/<key>/layers/<inner key>/vars/<i>``; model-level variables in ``vars``,
the optimizer's in ``optimizer/vars``). The key is not the layer's name but its class in
snake case, numbered in the order of ``model.layers``: ``conv2d``, ``dense``, ``dense_1``...
(each ``vars`` group keeps the layer's name in its ``name`` attribute). tf.keras 2.13
wrote ``_layer_checkpoint_dependencies`` in place of ``layers``.

    >>> [key for key, _ in keys(model.layers)]
    ['conv2d', 'max_pooling2d', 'flatten', 'dense', 'dense_1']
"""
import re

from .errors import LoadError
from .hdf5 import b, read_array, text

ROOTS = ("layers", "_layer_checkpoint_dependencies")
_CLASS_KEYS = {"Model": "functional"}


def snake_case(class_name):
    """Keras 3's file key of a class: 'MaxPooling2D' -> 'max_pooling2d'."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def keys(layers):
    """``[(key, layer)]`` for ``layers`` as Keras 3 numbers them."""
    used, out = {}, []
    for layer in layers:
        base = _CLASS_KEYS.get(type(layer).__name__) or snake_case(type(layer).__name__)
        count = used.get(base)
        used[base] = 0 if count is None else count + 1
        out.append((base if count is None else f"{base}_{count + 1}", layer))
    return out


def _owners(layers, prefix="layers"):
    """``[(path, layer, variables)]`` of every group of variables, nested models walked.
    A layer that Keras 3 builds of sub-layers (an RNN's ``cell``, Bidirectional's two
    halves) says where its variables go with ``keras3_weight_groups()``."""
    from ..engine.network import Network
    out = []
    for key, layer in keys(layers):
        path = f"{prefix}/{key}"
        if isinstance(layer, Network):
            out.extend(_owners(layer.layers, f"{path}/layers"))
        elif hasattr(layer, "keras3_weight_groups"):
            out.extend((f"{path}/{sub}", layer, variables) for sub, variables in layer.keras3_weight_groups())
        elif layer.weights:
            out.append((path, layer, layer.weights))
    return out


# ------------------------------------------------------------------ writing

def link(root, legacy_groups, model):
    """Hard links ``layers/<key>/vars/<i>`` to each weight's legacy dataset (no copy).
    ``legacy_groups`` maps a variable's id to its dataset."""
    for path, layer, variables in _owners(model.layers):
        vars_group = root.require_group(path).require_group("vars")
        vars_group.attrs["name"] = b(layer.name)
        for i, var in enumerate(variables):
            vars_group[str(i)] = legacy_groups[id(var)]
    root.require_group("vars").attrs["name"] = b(model.name)


# ------------------------------------------------------------------ reading

def read(root, file_size, digests):
    """``{path: (layer name or None, [arrays])}`` of the layers with variables."""
    if "vars" in root and len(root["vars"]):
        raise LoadError("it holds top-level model weights (weights of a subclassed Keras 3 model), which "
                        "graphflow models do not have")
    base = next(k for k in ROOTS if k in root)
    found = {}
    _walk(root[base], "layers", found, file_size, digests)
    return found


def _walk(group, prefix, found, file_size, digests):
    for key in group:
        node = group[key]
        if hasattr(node, "dtype"):
            raise LoadError(f"unexpected dataset {node.name!r} among the Keras 3 layers")
        path = f"{prefix}/{key}"
        if "vars" in node:
            vars_group = node["vars"]
            names = list(vars_group)
            if sorted(names, key=lambda k: (len(k), k)) != [str(i) for i in range(len(names))]:
                raise LoadError(f"the variables of {node.name!r} are not numbered 0..n-1: {names}")
            values = [read_array(vars_group, str(i), file_size, digests)[0] for i in range(len(names))]
            name = vars_group.attrs.get("name")
            if values:
                found[path] = (text(name, "name attribute") if name is not None else None, values)
        for sub in node:  # "layers" of a nested model, an RNN's "cell", Bidirectional's halves
            if sub != "vars" and not hasattr(node[sub], "dtype"):
                _walk_one(node, sub, path, found, file_size, digests)


def _walk_one(node, sub, path, found, file_size, digests):
    if sub == "layers":
        _walk(node["layers"], f"{path}/layers", found, file_size, digests)
    else:
        _walk({sub: node[sub]}, path, found, file_size, digests)


def plan(saved, layers, by_name, pair):
    """Pair the file's entries with the model's layers: by Keras 3's keys (class and
    position), or with ``by_name=True`` by the layer names kept in the file (layers absent
    from the file are left alone)."""
    owners = _owners(layers)
    if by_name:
        by_layer_name = {name: values for name, values in saved.values() if name is not None}
        return [p for _, layer, variables in owners if layer.name in by_layer_name
                for p in pair(variables, by_layer_name[layer.name], f"layer {layer.name!r}")]
    wanted = {path: (layer, variables) for path, layer, variables in owners}
    missing, extra = sorted(set(wanted) - set(saved)), sorted(set(saved) - set(wanted))
    if missing or extra:
        raise LoadError(f"Keras 3 .weights.h5 files key each layer by its class and position; the model "
                        f"has {_short(missing)} that the file lacks, the file has {_short(extra)} that the model "
                        f"lacks (pass by_name=True to match layers by name instead)")
    return [p for path, layer, variables in owners
            for p in pair(variables, saved[path][1], f"layer {layer.name!r} (file entry {path!r})")]


def _short(paths):
    return [p[len("layers/"):] for p in paths] or "nothing"
