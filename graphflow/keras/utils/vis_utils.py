"""Pictures of a model's LAYER graph, as Keras 2's ``keras.utils.vis_utils``.

One box per layer ("name: ClassName", optionally with input/output shapes), one arrow per
connection. Built with the ``graphviz`` Python package; the DOT text needs nothing else,
rendering to SVG/PNG needs Graphviz's ``dot`` program. (``graphflow.viz`` draws the
lower-level op graph of a compiled function instead.)

    >>> dot = model_to_dot(model, show_shapes=True)     # doctest: +SKIP
    >>> plot_model(model, to_file="model.svg")          # doctest: +SKIP
"""
import os

from graphflow.utils import write_bytes, write_text

_RECORD_SPECIALS = str.maketrans({c: "\\" + c for c in '\\{}|<>"'})
_SOURCE_FORMATS = ("dot", "gv")


def model_to_dot(model, show_shapes=False, show_layer_names=True, rankdir="TB"):
    """The layer graph of ``model`` as a ``graphviz.Digraph`` (``.source`` is DOT text).

    ``rankdir`` is 'TB' (top to bottom) or 'LR' (left to right).
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be 'TB', 'LR', 'BT' or 'RL'; got {rankdir!r}")
    graphviz = _graphviz()
    layers = _plotted_layers(model)
    dot = graphviz.Digraph(name=getattr(model, "name", None) or "model",
                           graph_attr={"rankdir": rankdir, "concentrate": "true"},
                           node_attr={"shape": "record", "fontname": "Helvetica"})
    for layer in layers:
        # nohtml: a label is record text, never an HTML-like label (no <a href> from names)
        dot.node(str(id(layer)), label=graphviz.nohtml(_label(layer, show_shapes, show_layer_names)))
    for layer in layers:
        for inbound in _inbound_layers(layer, layers):
            dot.edge(str(id(inbound)), str(id(layer)))
    return dot


def plot_model(model, to_file="model.svg", show_shapes=False, show_layer_names=True,
               rankdir="TB"):
    """Draw the layer graph of ``model`` into ``to_file``; the extension picks the format.

    '.svg', '.png', '.pdf' ... are rendered by Graphviz's ``dot`` program; '.dot' or
    '.gv' write the DOT text and need no Graphviz install. The file is replaced in one
    step (written beside it, then renamed): an interrupted call leaves the previous
    picture whole. Returns the Digraph.
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_layer_names=show_layer_names,
                       rankdir=rankdir)
    graphviz = _graphviz()
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension in _SOURCE_FORMATS:
        write_text(to_file, dot.source)
        return dot
    try:
        data = dot.pipe(format=extension)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(f"plot_model: writing {to_file!r} needs Graphviz's `dot` program, "
                           "which was not found on PATH. Install Graphviz, or save DOT text "
                           "with to_file='model.dot'") from None
    except (graphviz.CalledProcessError, ValueError) as err:
        raise RuntimeError(f"plot_model: Graphviz's `dot` cannot write format {extension!r} "
                           f"for {to_file!r} ({err}); try '.svg' or '.dot'") from None
    write_bytes(to_file, data)
    return dot


def _graphviz():
    """The ``graphviz`` package, imported where it is used: graphflow.keras itself imports
    on machines without it (the GPU images have no graphviz)."""
    try:
        import graphviz
    except ImportError:
        import graphflow as gf
        raise gf.viz.GraphvizNotFoundError("plot_model / model_to_dot draw with the Python package `graphviz`, "
                                    "which is not installed: pip install graphviz") from None
    return graphviz


def _plotted_layers(model):
    """The model's layers, preceded by its input layers where ``model.layers`` leaves
    them out (Sequential models), since Keras draws those too."""
    layers = list(model.layers)
    inputs = [layer for layer in getattr(model, "input_layers", None) or []
              if not any(layer is other for other in layers)]
    return inputs + layers


def _inbound_layers(layer, layers):
    """The layers whose outputs ``layer`` consumes, among those plotted."""
    found = []
    for node in getattr(layer, "inbound_nodes", None) or []:
        for inbound in getattr(node, "inbound_layers", None) or []:
            if any(inbound is other for other in layers) and not any(inbound is f for f in found):
                found.append(inbound)
    return found


def _label(layer, show_shapes, show_layer_names):
    class_name = type(layer).__name__
    inner = getattr(layer, "layer", None)  # wrappers such as TimeDistributed(Dense)
    name = layer.name
    if inner is not None and hasattr(inner, "name"):
        name, class_name = f"{name}({inner.name})", f"{class_name}({type(inner).__name__})"
    label = f"{name}: {class_name}" if show_layer_names else class_name
    label = label.translate(_RECORD_SPECIALS)
    if not show_shapes:
        return label
    inputs, outputs = (_shape_text(layer, attr) for attr in ("input_shape", "output_shape"))
    # an input layer has no inbound tensor; Keras shows its batch shape on both sides
    return "%s\n|{input:|output:}|{{%s}|{%s}}" % (label, inputs or outputs, outputs)


def _shape_text(layer, attr):
    try:
        shape = getattr(layer, attr)
    except (AttributeError, ValueError, RuntimeError):
        return "multiple"
    if isinstance(shape, list):
        return ", ".join(str(s) for s in shape).translate(_RECORD_SPECIALS)
    return str(shape).translate(_RECORD_SPECIALS)
