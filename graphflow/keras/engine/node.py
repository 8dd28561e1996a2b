"""The graph of layer calls: Keras tensors (a layer's symbolic outputs), the nodes that
record each call (which layer, which inputs, what the call added), and Keras 2's
``InputSpec``.

    >>> y = Dense(3)(x)                  # y is a KerasTensor; Dense's inbound_nodes gained a Node
    >>> layer, node_index, tensor_index = y._keras_history
"""


class KerasTensor:
    """A symbolic output of a layer: the graphflow tensor of the inference graph
    (``.tensor``) plus where it came from (``_keras_history``) and its static shape."""

    __slots__ = ("tensor", "_keras_history", "_keras_shape", "name", "_keras_mask")

    def __init__(self, tensor, history, shape=None, name=None, mask=None):
        self.tensor = tensor
        self._keras_mask = mask  # bool graphflow tensor (samples, time) of the inference graph, or None
        self._keras_history = history  # (layer, node_index, tensor_index)
        self._keras_shape = tuple(tensor.shape if shape is None else shape)
        self.name = name or tensor.name

    shape = property(lambda self: self._keras_shape)
    dtype = property(lambda self: self.tensor.dtype)
    ndim = property(lambda self: len(self._keras_shape))

    def __repr__(self):
        layer = self._keras_history[0].name
        return f"<KerasTensor shape={self._keras_shape} dtype={self.dtype} from layer {layer}>"

    def __bool__(self):
        raise TypeError("a Keras tensor is symbolic and has no truth value")

    def _no_math(self, *args):
        raise TypeError("graphflow.keras: Keras tensors do not support arithmetic; use a merge layer "
                        "(Add, Concatenate...) or wrap graphflow code in a Lambda layer")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __matmul__ = _no_math


class InputSpec(dict):
    """Keras 2's input constraints of a layer (``ndim``, ``min_ndim``, ``axes``...): a
    dict of the keys given, which is what ``Layer.input_spec`` holds in graphflow.

    >>> self.input_spec = InputSpec(min_ndim=2, axes={-1: 16})
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None):
        super().__init__((k, v) for k, v in (("dtype", dtype), ("shape", shape), ("ndim", ndim),
                                             ("max_ndim", max_ndim), ("min_ndim", min_ndim), ("axes", axes))
                         if v is not None)
        if shape is not None and ndim is None:
            self["ndim"] = len(shape)

    def __getattr__(self, name):
        if name in ("dtype", "shape", "ndim", "max_ndim", "min_ndim", "axes"):
            return self.get(name)
        raise AttributeError(name)


class Node:
    """One call of ``outbound_layer`` on ``input_tensors`` giving ``output_tensors``;
    ``losses`` and ``updates`` are what that call added (activity penalties, moving
    averages), tied to this call's graph (Keras 2's ``get_losses_for(inputs)``)."""

    def __init__(self, outbound_layer, input_tensors, output_tensors, arguments=None, losses=(), updates=()):
        self.outbound_layer = outbound_layer
        self.losses, self.updates = list(losses), list(updates)
        self.input_tensors = list(input_tensors)
        self.output_tensors = list(output_tensors)
        self.arguments = dict(arguments or {})
        history = [t._keras_history for t in self.input_tensors]
        self.inbound_layers = [h[0] for h in history]
        self.node_indices = [h[1] for h in history]
        self.tensor_indices = [h[2] for h in history]
        self.input_shapes = [t.shape for t in self.input_tensors]
        self.output_shapes = [t.shape for t in self.output_tensors]
        for layer in self.inbound_layers:
            layer.outbound_nodes.append(self)
        outbound_layer.inbound_nodes.append(self)


class DirectCall:
    """A call on plain graphflow tensors: what ``get_losses_for`` needs of a Node."""

    def __init__(self, input_tensors, losses, updates):
        self.input_tensors, self.losses, self.updates = list(input_tensors), list(losses), list(updates)
