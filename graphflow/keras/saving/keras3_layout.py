"""Keras 3's ``.weights.h5`` layout, read and written (as hard links beside the legacy one).

Keras 3 keeps each layer's variables under ``layers/<key>/vars/<i>`` (a nested model's
under ``layers/<key>/layers/<inner key>/vars/<i>``; model-level variables in ``vars``,
the optimizer's in ``optimizer/vars``). The key is not the layer's name but its class in
snake case, numbered in the order of ``model.layers``: ``conv2d``, ``dense``, ``dense_1``...
(each ``vars`` group keeps the layer's name in its ``name`` attribute); a wrapper's
(``TimeDistributed``) are its inner layer's, under ``layers/<key>/layer/vars/<i>``.
tf.keras 2.13 wrote ``_layer_checkpoint_dependencies`` in place of ``layers``.

    >>> [key for key, _ in keys(model.layers)]
    ['conv2d', 'max_pooling2d', 'flatten', 'dense', 'dense_1']
"""
import re

import h5py

import graphflow as gf

from .errors import LoadError
from .guard import hard_child, hard_members
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
        elif layer.weights and _is_wrapper(layer):
            out.append((f"{path}/layer", layer, layer.weights))
        elif layer.weights:
            out.append((path, layer, layer.weights))
    return out


def _is_wrapper(layer):
    from ..layers.wrappers import Wrapper
    return isinstance(layer, Wrapper)


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

def read(root, budget, digests):
    """``{path: (layer name or None, [arrays])}`` of the layers with variables; every link
    followed is a hard link and every dataset passes ``guard.check_dataset``."""
    top = _group(root, "vars")
    if top is not None and len(hard_members(top)):
        raise LoadError("it holds top-level model weights (weights of a subclassed Keras 3 model), which "
                        "graphflow models do not have")
    base = next(k for k in ROOTS if _group(root, k) is not None)
    found = {}
    _walk(_group(root, base), "layers", found, budget, digests)
    return found


def _group(parent, key):
    """``parent[key]`` when it is a group reached by a hard link, else ``None``."""
    node = hard_child(parent, key, "group")
    return node if isinstance(node, h5py.Group) else None


def _walk(group, prefix, found, budget, digests):
    for key in hard_members(group):
        node = group[key]
        if not isinstance(node, h5py.Group):
            raise LoadError(f"unexpected dataset {node.name!r} among the Keras 3 layers")
        _visit(node, f"{prefix}/{key}", found, budget, digests)


def _visit(node, path, found, budget, digests):
    """One layer's group: its numbered variables, then its sub-groups: a nested model's
    ``layers``, an RNN's ``cell``, Bidirectional's halves, a wrapper's ``layer``."""
    vars_group = _group(node, "vars")
    if vars_group is not None:
        names = hard_members(vars_group)
        if sorted(names, key=lambda k: (len(k), k)) != [str(i) for i in range(len(names))]:
            raise LoadError(f"the variables of {node.name!r} are not numbered 0..n-1: {names}")
        values = [read_array(vars_group, str(i), budget, digests)[0] for i in range(len(names))]
        name = vars_group.attrs.get("name")
        if values:
            found[path] = (_name(text(name, "name attribute"), node) if name is not None else None, values)
    for sub in hard_members(node):
        child = _group(node, sub)
        if sub == "vars" or child is None:
            continue
        if sub == "layers":
            _walk(child, f"{path}/layers", found, budget, digests)
        else:
            _visit(child, f"{path}/{sub}", found, budget, digests)


def _name(name, node):
    """A layer name kept in the file, held to graphflow's naming rule."""
    try:
        return gf.check_name(name, "layer name")
    except gf.NameRuleError as err:
        raise LoadError(f"{node.name!r} keeps an {err}") from None


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
