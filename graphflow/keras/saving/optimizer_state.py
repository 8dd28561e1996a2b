"""The ``optimizer_weights`` group: optimizer state, written in Keras 3's layout and read
from every generation.

Layouts (for the parameters p0, p1 of a model, Adam's slots m and v):

- Keras 2.0.x and graphflow before this layout: ``[iterations, m0, m1, v0, v1]`` with
  uninformative names (``Variable_3:0``): read by position, in graphflow's own order;
- tf.keras 2.x: ``Adam/iter:0, Adam/dense/kernel/m:0, ...`` (TF 2.11+: ``Adam/m/dense/kernel:0``);
- Keras 3 (and what graphflow writes): ``adam/iteration, adam/learning_rate, adam/dense_kernel_momentum,
  adam/dense_kernel_velocity, ...``, interleaved per parameter.

Named layouts are matched by slot kind and parameter name, so the order in which another
Keras listed its variables does not matter.

    >>> entries = write_entries(model.optimizer, model)
    >>> [name for name, _ in entries][:2]
    ['adam/iteration', 'adam/learning_rate']
"""
import re

import numpy as np

from .errors import LoadError

# graphflow slot -> the names other Keras generations give it; the first is Keras 3's
SLOT_NAMES = {
    "SGD": {"moment": ("momentum", "moment")},
    "Adam": {"m": ("momentum", "m"), "v": ("velocity", "v")},
    "Nadam": {"m": ("momentum", "m"), "v": ("velocity", "v")},
    "Adamax": {"m": ("momentum", "m"), "u": ("norm", "v", "u")},
    "RMSprop": {"accumulator": ("velocity", "rms", "accumulator")},
    "Adagrad": {"accumulator": ("accumulator",)},
    "Adadelta": {"accumulator": ("accumulated_grad", "accum_grad", "accumulator"),
                 "delta_accumulator": ("accumulated_delta_var", "accum_var", "delta_accumulator")},
}
_ITERATIONS = ("iteration", "iterations", "iter")
_LEARNING_RATE = ("learning_rate", "lr")
_ALL_KINDS = sorted({k for table in SLOT_NAMES.values() for names in table.values() for k in names},
                    key=len, reverse=True)


def _slot_table(optimizer):
    table = SLOT_NAMES.get(type(optimizer).__name__)
    if table is None or set(table) != set(getattr(optimizer, "_slots", ())):
        return None
    return table


def _slots_used(optimizer):
    """Keras 3 builds no momentum for SGD with momentum 0; graphflow's slots are zeros then."""
    if type(optimizer).__name__ == "SGD":
        return float(optimizer.get_config().get("momentum", 0.0)) != 0.0
    return True


def param_keys(layers):
    """``{id(variable): 'dense_1_kernel'}``: a layer's name and the weight's own name, as
    Keras 3 names slots after the variable path (graphflow may have suffixed the variable's
    name, 'kernel_1', to keep it unique in the process: the suffix is not part of the key)."""
    from ..engine.network import Network
    keys = {}
    for layer in layers:
        if isinstance(layer, Network):
            keys.update(param_keys(layer.layers))
            continue
        paths = getattr(layer, "keras3_weight_paths", None)  # layers Keras 3 builds of sub-layers
        if paths is not None:
            keys.update((id(var), path.replace("/", "_")) for var, path in zip(layer.weights, paths()))
            continue
        for var in layer.weights:
            base = re.sub(r"_\d+$", "", str(var.name).split(":")[0].split("/")[-1])
            keys[id(var)] = f"{layer.name}_{base}"
    return keys


# ------------------------------------------------------------------ writing

def write_entries(optimizer, model):
    """``[(name, array)]`` of ``optimizer``'s state for the model's trainable weights, in
    Keras 3's layout; a slot not created yet (the model never trained) is written as the
    zeros it starts as."""
    params, keys = model.trainable_weights, param_keys(model.layers)
    table = _slot_table(optimizer)
    if table is None:  # an optimizer of the user's own: its weights, as they are
        return [(str(getattr(v, "name", f"param_{i}")), np.asarray(v.get_value()))
                for i, v in enumerate(getattr(optimizer, "weights", []) or [])]
    prefix = type(optimizer).__name__.lower()
    entries = [(f"{prefix}/iteration", np.asarray(int(optimizer.iterations.get_value()), np.int64))]
    if not optimizer.get_config().get("decay"):
        entries.append((f"{prefix}/learning_rate", np.asarray(optimizer.lr.get_value(), np.float32)))
    if not _slots_used(optimizer):
        return entries
    state = getattr(optimizer, "_state", {})
    for p in params:
        for slot in optimizer._slots:
            var = state.get((slot, id(p)))
            value = var[0].get_value() if var is not None else np.zeros(p.shape, p.dtype)
            entries.append((f"{prefix}/{keys[id(p)]}_{table[slot][0]}", np.asarray(value)))
    return entries


# ------------------------------------------------------------------ reading

def _classify(name):
    """('iterations',), ('lr',), ('slot', kind, ref) or None for an uninformative name."""
    tokens = [t for t in name.split(":")[0].split("/") if t]
    if not tokens:
        return None
    last = tokens[-1]
    if last in _ITERATIONS:
        return ("iterations",)
    if last in _LEARNING_RATE:
        return ("lr",)
    if len(tokens) >= 3 and last in _ALL_KINDS:            # tf.keras 2.x: Adam/dense/kernel/m
        return ("slot", last, "_".join(tokens[1:-1]))
    if len(tokens) >= 3 and tokens[1] in _ALL_KINDS:       # TF 2.11+: Adam/m/dense/kernel
        return ("slot", tokens[1], "_".join(tokens[2:]))
    for kind in _ALL_KINDS:                                 # Keras 3: adam/dense_kernel_momentum
        if len(tokens) == 2 and last.endswith("_" + kind):
            return ("slot", kind, last[: -len(kind) - 1])
    return None


def plan(optimizer, model, entries):
    """``[(variable, value)]`` restoring ``entries`` into ``optimizer`` (built for the
    model's trainable weights); raises ``LoadError`` when they do not fit."""
    params, keys = model.trainable_weights, param_keys(model.layers)
    classified = [_classify(name) for name, _ in entries]
    table = _slot_table(optimizer)
    if table is None or any(c is None for c in classified):
        return _by_position(optimizer, [value for _, value in entries])
    out, kinds = [], {}
    for c, (name, value) in zip(classified, entries):
        if c[0] in ("iterations", "lr"):
            if np.shape(value) != ():
                raise LoadError(f"the optimizer state {name!r} should be one number, found shape "
                                f"{np.shape(value)}")
            target = optimizer.iterations if c[0] == "iterations" else optimizer.lr
            out.append((target, np.asarray(value, dtype=np.float64)))
        else:
            slot = next((s for s, names in table.items() if c[1] in names), None)
            if slot is None:
                raise LoadError(f"the optimizer state {name!r} is not a slot of {type(optimizer).__name__}")
            kinds.setdefault(slot, []).append((c[2], name, value))
    for slot in optimizer._slots:
        found = kinds.get(slot)
        if found is None:
            if not _slots_used(optimizer):
                continue
            raise LoadError(f"the file has no {slot!r} state for {type(optimizer).__name__}")
        out.extend(_match(optimizer, slot, params, keys, found))
    return out


def _match(optimizer, slot, params, keys, found):
    if len(found) != len(params):
        raise LoadError(f"the file has {slot!r} state for {len(found)} parameters, the model trains "
                        f"{len(params)}")
    refs = [ref for ref, _, _ in found]
    order = []
    for p in params:
        key = keys.get(id(p), "")
        hits = [i for i, r in enumerate(refs) if r == key or r.endswith("_" + key)]
        order.append(hits[0] if len(hits) == 1 else None)
    if None in order or len(set(order)) != len(order):
        order = list(range(len(params)))  # names do not say: the writer's order is the model's
    pairs = []
    for p, i in zip(params, order):
        _, name, value = found[i]
        if tuple(np.shape(value)) != tuple(p.shape):
            raise LoadError(f"the optimizer state {name!r} has shape {np.shape(value)}, parameter "
                            f"{p.name!r} has shape {tuple(p.shape)}")
        pairs.append((optimizer._slot(slot, p), value))
    return pairs


def _by_position(optimizer, values):
    variables = list(getattr(optimizer, "weights", []) or [])
    if len(variables) != len(values):
        raise LoadError(f"the file holds {len(values)} optimizer arrays, {type(optimizer).__name__} has "
                        f"{len(variables)}")
    for var, value in zip(variables, values):
        if tuple(np.shape(value)) != tuple(var.get_value().shape):
            raise LoadError(f"optimizer weight {var.name!r} has shape {tuple(var.get_value().shape)}, the "
                            f"file's has {np.shape(value)}")
    return list(zip(variables, values))
