"""Keras 3 writes the mask of ``Embedding(mask_zero=True)`` into a functional config as
an op layer of its own (``NotEqual`` on the token ids, ``!= 0``) whose output is passed
to the layers downstream as a ``mask=`` keyword. graphflow propagates that mask itself,
so such a layer and those keywords are dropped — only when they are exactly that mask;
anything else is left for the reader to refuse.

    >>> layers = drop_recorded_masks(config["layers"])
"""


def _history(item):
    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
        history = item.get("config", {}).get("keras_history")
        return tuple(history) if isinstance(history, list) and len(history) == 3 else None
    return None


def _nodes(entry):
    nodes = entry.get("inbound_nodes", [])
    return nodes if isinstance(nodes, list) else []


def _embedding_mask_sources(layers):
    """keras_history of the inputs of every Embedding(mask_zero=True) call."""
    found = set()
    for entry in layers:
        config = entry.get("config") if isinstance(entry, dict) else None
        if entry.get("class_name") == "Embedding" and isinstance(config, dict) and config.get("mask_zero"):
            for node in _nodes(entry):
                args = node.get("args") if isinstance(node, dict) else None
                if isinstance(args, list) and len(args) == 1 and _history(args[0]):
                    found.add(_history(args[0]))
    return found


def _is_embedding_mask(entry, sources):
    if entry.get("class_name") != "NotEqual" or len(_nodes(entry)) != 1:
        return False
    node = _nodes(entry)[0]
    args = node.get("args") if isinstance(node, dict) else None
    return isinstance(args, list) and len(args) == 2 and _history(args[0]) in sources and args[1] == 0 \
        and not node.get("kwargs")


def drop_recorded_masks(layers):
    """``layers`` (Keras 3 functional layer entries) without the NotEqual layers that only
    recompute an Embedding's mask, and without the ``mask=`` keywords that carry it."""
    if not isinstance(layers, list) or not all(isinstance(e, dict) for e in layers):
        return layers
    sources = _embedding_mask_sources(layers)
    masks = {e.get("name") for e in layers if _is_embedding_mask(e, sources)}
    if not masks:
        return layers
    used_elsewhere = any(_history(a) and _history(a)[0] in masks for e in layers for n in _nodes(e)
                         if isinstance(n, dict) for a in (n.get("args") or []) if isinstance(a, dict))
    if used_elsewhere:
        return layers
    out = []
    for entry in layers:
        if entry.get("name") in masks:
            continue
        nodes = []
        for node in _nodes(entry):
            if isinstance(node, dict) and isinstance(node.get("kwargs"), dict):
                mask = _history(node["kwargs"].get("mask"))
                if mask is not None and mask[0] in masks:
                    node = {**node, "kwargs": {k: v for k, v in node["kwargs"].items() if k != "mask"}}
            nodes.append(node)
        out.append({**entry, "inbound_nodes": nodes})
    return out
