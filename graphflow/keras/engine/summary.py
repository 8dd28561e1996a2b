"""``model.summary()``: the Keras 2 text table.

Sequential-like models: width 65, columns ending at 29, 55 and 65 (``Layer (type)``,
``Output Shape``, ``Param #``); other models: width 100 with a ``Connected to`` column
(``layer[node][tensor]``). Then ``Total params: 7,998,250`` and the trainable split.
"""


def _row(fields, positions):
    line = ""
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += str(field)
        line = line[:positions[i]]
        line += " " * (positions[i] - len(line))
    return line


def _sequential_like(model):
    if type(model).__name__ == "Sequential":
        return True
    by_depth = {}
    for node in model._nodes:
        by_depth.setdefault(model._node_depth[id(node)], []).append(node)
    return all(len(nodes) == 1 and len(nodes[0].inbound_layers) <= 1 for nodes in by_depth.values())


def _output_shape(layer):
    try:
        return layer.output_shape
    except (AttributeError, RuntimeError):
        return "multiple"


def _connections(model, layer):
    found = []
    for node in model.network_nodes(layer):
        for t in node.input_tensors:
            inbound, node_index, tensor_index = t._keras_history
            index = model.network_nodes(inbound).index(inbound.inbound_nodes[node_index])
            found.append(f"{inbound.name}[{index}][{tensor_index}]")
    return found


def print_summary(model, line_length=None, positions=None, print_fn=print):
    """Print ``model``'s layer table (see the module docstring)."""
    sequential = _sequential_like(model)
    if sequential:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 100
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    print_fn("_" * line_length)
    print_fn(_row(headers, positions))
    print_fn("=" * line_length)
    layers = model.layers
    for i, layer in enumerate(layers):
        fields = [f"{layer.name} ({type(layer).__name__})", _output_shape(layer), layer.count_params()]
        if sequential:
            print_fn(_row(fields, positions))
        else:
            connections = _connections(model, layer)
            print_fn(_row(fields + [connections[0] if connections else ""], positions))
            for extra in connections[1:]:
                print_fn(_row(["", "", "", extra], positions))
        print_fn(("=" if i == len(layers) - 1 else "_") * line_length)
    trainable = sum(int(_size(w)) for w in model.trainable_weights)
    frozen = sum(int(_size(w)) for w in model.non_trainable_weights)
    print_fn(f"Total params: {trainable + frozen:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {frozen:,}")
    print_fn("_" * line_length)


def _size(w):
    n = 1
    for d in w.shape:
        n *= d
    return n
