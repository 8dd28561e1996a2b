"""The Layer base class: building, calling (which records a ``Node``, see node.py), weights.

Calling a layer on a ``KerasTensor`` records a ``Node`` (which layer, which inputs) and
builds the layer's inference-phase graphflow graph right away, so shapes are known and
mistakes are reported at the line that made them. A model later *replays* its nodes to
build one graph per phase (``training=True`` for the train function: dropout on, batch
statistics; ``False`` for test and predict), which is how graphflow avoids a
learning-phase switch inside the graph. Identical ops are merged as they are built, so
the replays share every node that does not depend on the phase.

Writing a layer: override ``build(input_shape)`` (make weights with ``add_weight``) and
``call(inputs)`` (graphflow tensors in, graphflow tensors out); accept ``training`` in
``call`` if the layer behaves differently while training.

    >>> class Scale(Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
    ...     def call(self, x):
    ...         return x * self.w
"""
import contextlib
import inspect
import threading

import numpy as np

import graphflow as gf

from .. import backend as K
from .. import constraints as constraints_module
from .. import initializers, regularizers
from .._utils import assign_values, to_snake_case
from .build_budget import charge
from .node import DirectCall, KerasTensor, Node

_ALLOWED_KWARGS = {"input_shape", "batch_input_shape", "batch_size", "dtype", "name", "trainable",
                   "weights", "input_dtype", "input_dim"}
_collecting = threading.local()


def to_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def unpack(xs):
    return xs[0] if len(xs) == 1 else xs


@contextlib.contextmanager
def collecting():
    """Collect the updates and losses layers add while a phase graph is built:
    ``with collecting() as (updates, losses): ...``."""
    stack = getattr(_collecting, "stack", [])
    _collecting.stack = stack + [([], [])]
    try:
        yield _collecting.stack[-1]
    finally:
        _collecting.stack = stack


def _current():
    stack = getattr(_collecting, "stack", [])
    return stack[-1] if stack else None


def scope_name(name):
    """A layer name as a graphflow scope: the name itself, since a layer's name passes
    graphflow's naming rule when it is given (see ``graphflow.graph.names``)."""
    return name


class Layer:
    """Base class of all layers (see the module docstring)."""

    def __init__(self, **kwargs):
        for k in kwargs:
            if k not in _ALLOWED_KWARGS:
                raise TypeError(f"Keyword argument not understood: {k!r} (layer {type(self).__name__})")
        prefix = to_snake_case(type(self).__name__)
        self.name = kwargs.get("name") or f"{prefix}_{K.get_uid(prefix)}"
        self.trainable = kwargs.get("trainable", True)
        self.built = False
        self.supports_masking = False
        self.input_spec = None
        self._trainable_weights, self._non_trainable_weights = [], []
        self._losses = []
        self.constraints = {}
        self.inbound_nodes, self.outbound_nodes = [], []
        self._direct_calls = []  # calls on plain graphflow tensors: no nodes, but their own losses
        self._initial_weights = kwargs.get("weights")
        batch_shape = self._batch_input_shape(kwargs)
        if batch_shape is not None:
            self.batch_input_shape = batch_shape
            self.dtype = kwargs.get("dtype") or kwargs.get("input_dtype") or K.floatx()

    @staticmethod
    def _batch_input_shape(kwargs):
        if kwargs.get("batch_input_shape") is not None:
            return tuple(kwargs["batch_input_shape"])
        shape = kwargs.get("input_shape")
        if shape is None and kwargs.get("input_dim") is not None:
            shape = (kwargs["input_dim"],)
        if shape is None:
            return None
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)  # 784 -> (784,)
        return (kwargs.get("batch_size"),) + tuple(None if d is None else int(d) for d in shape)

    @property
    def name(self):
        """The layer's name: a scope, an HDF5 group, a box in pictures (so it passes ``gf.check_name``)."""
        return self._name

    @name.setter
    def name(self, value):
        self._name = gf.check_name(value, f"{type(self).__name__} layer name")

    # ------------------------------------------------------------ weights
    def add_weight(self, name, shape, dtype=None, initializer=None, regularizer=None, trainable=True,
                   constraint=None):
        """Make a weight variable named ``<layer>/<name>`` and register it."""
        shape = tuple(int(d) for d in shape)
        charge(self, f"a weight {name!r}", shape)  # before anything is allocated (see build_budget)
        init = initializers.get(initializer if initializer is not None else "glorot_uniform")
        value = np.asarray(init(shape, dtype or K.floatx()), dtype=dtype or K.floatx())
        if value.shape != shape:
            raise ValueError(f"layer {self.name}: initializer for {name!r} gave shape {value.shape}, "
                             f"expected {shape}")
        with gf.name_scope(scope_name(self.name)):
            var = gf.variable(value, name=name, trainable=trainable)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            with gf.name_scope(scope_name(self.name)):
                self._losses.append(regularizer(var))
        constraint = constraints_module.get(constraint)
        if constraint is not None:
            self.constraints[var] = constraint
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        return var

    @property
    def trainable_weights(self):
        return list(self._trainable_weights) if self.trainable else []

    @trainable_weights.setter
    def trainable_weights(self, value):
        self._trainable_weights = list(value)

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return list(self._non_trainable_weights)
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    @non_trainable_weights.setter
    def non_trainable_weights(self, value):
        self._non_trainable_weights = list(value)

    @property
    def weights(self):
        return self.trainable_weights + self.non_trainable_weights

    @property
    def weight_names(self):
        """Keras-style names of ``weights``: 'conv2d_1/kernel:0'."""
        return [w.name + ":0" for w in self.weights]

    @property
    def losses(self):
        """Every penalty of this layer (scalar tensors): those of its weights (and any added
        outside ``call``) plus those each call on Keras tensors added (activity penalties).
        A model's training loss does not read this list: it takes the weight penalties
        (``get_losses_for(None)``) and rebuilds the activity ones in its own graph."""
        return list(self._losses) + [loss for node in self._calls() for loss in node.losses]

    def get_losses_for(self, inputs):
        """The penalties of the call on ``inputs`` (Keras tensors); ``None``: the ones that
        belong to no call (weight regularisers)."""
        if inputs is None:
            return list(self._losses)
        return [loss for node in self._nodes_for(inputs) for loss in node.losses]

    def get_updates_for(self, inputs):
        """The ``(variable, value)`` updates the call on ``inputs`` added (``None``: none
        belong to no call in graphflow: updates exist only inside a call)."""
        if inputs is None:
            return []
        return [u for node in self._nodes_for(inputs) for u in node.updates]

    @property
    def updates(self):
        return [u for node in self._calls() for u in node.updates]

    def _calls(self):
        return self.inbound_nodes + self._direct_calls

    def _nodes_for(self, inputs):
        wanted = [id(t) for t in to_list(inputs)]
        return [node for node in self._calls() if [id(t) for t in node.input_tensors] == wanted]

    def get_weights(self):
        return [w.get_value() for w in self.weights]

    def set_weights(self, weights):
        assign_values(self.weights, weights, f"layer {self.name!r}")

    def count_params(self):
        if not self.built:
            raise RuntimeError(f"You tried to call `count_params` on {self.name}, but the layer isn't built. "
                               "Build it first by calling it on an input.")
        return int(sum(K.count_params(w) for w in self.weights))

    # ------------------------------------------------------------ building and calling
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, **kwargs):
        return inputs

    def add_update(self, updates, inputs=None):
        """Register ``[(variable, new value)]`` for the train function being built."""
        current = _current()
        if current is not None:
            current[0].extend(updates)

    def add_loss(self, losses, inputs=None):
        """Add scalar loss tensors: made inside ``call`` they belong to the phase graph
        being built; made elsewhere (``build``) they are permanent."""
        current = _current()
        (current[1] if current is not None else self._losses).extend(to_list(losses))

    def _check_inputs(self, shapes):
        specs = self.input_spec if isinstance(self.input_spec, list) else [self.input_spec] * len(shapes)
        for i, (shape, spec) in enumerate(zip(shapes, specs)):
            spec = spec or {}
            where = f"Input {i} is incompatible with layer {self.name}"
            if spec.get("max_ndim") is not None and len(shape) > spec["max_ndim"]:
                raise ValueError(f"{where}: expected max_ndim={spec['max_ndim']}, found ndim={len(shape)} "
                                 f"(shape {shape})")
            if "ndim" in spec and len(shape) != spec["ndim"]:
                raise ValueError(f"{where}: expected ndim={spec['ndim']}, found ndim={len(shape)} "
                                 f"(shape {shape})")
            if "min_ndim" in spec and len(shape) < spec["min_ndim"]:
                raise ValueError(f"{where}: expected min_ndim={spec['min_ndim']}, found ndim={len(shape)} "
                                 f"(shape {shape})")
            for axis, size in spec.get("axes", {}).items():
                if shape[axis] is not None and shape[axis] != size:
                    raise ValueError(f"{where}: expected axis {axis} of input shape to have value {size} "
                                     f"but got shape {shape}")

    def _call_graph(self, inputs, training=False, mask=None, **kwargs):
        """Run ``call`` on graphflow tensors in this layer's name scope; ``mask`` (the
        inputs' masks) reaches ``call`` when it has a ``mask`` parameter."""
        params = _call_params(type(self))
        if "training" in params:
            kwargs["training"] = training
        if "mask" in params and "mask" not in kwargs and mask is not None:
            kwargs["mask"] = mask
        with gf.name_scope(scope_name(self.name)):
            outputs = self.call(inputs, **kwargs)
            regularizer = getattr(self, "activity_regularizer", None)
            if regularizer is not None:
                self.add_loss([regularizer(o) for o in to_list(outputs)])
        return outputs

    def _call_masked(self, inputs, masks, training=False, **kwargs):
        """``call`` plus ``compute_mask``: (outputs, their masks), lists. ``masks`` are the
        inputs' masks (``None`` entries where an input has none)."""
        explicit = kwargs.pop("mask", None)  # `layer(x, mask=m)`; Keras 3 records mask=None
        mask = None if all(m is None for m in masks) else unpack(list(masks))
        if isinstance(explicit, gf.Tensor):
            mask = explicit
        outputs = to_list(self._call_graph(unpack(inputs), training, mask=mask, **kwargs))
        with gf.name_scope(scope_name(self.name)):
            out_masks = self.compute_mask(unpack(inputs), mask)
        out_masks = list(out_masks) if isinstance(out_masks, (list, tuple)) else [out_masks] * len(outputs)
        return outputs, out_masks

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs (a bool tensor per output, or ``None``). A layer that
        does not support masking refuses a mask, as in Keras 2; one that does passes its
        input's mask on."""
        if not self.supports_masking:
            if any(m is not None for m in to_list(mask)):
                raise TypeError(f"Layer {self.name} ({type(self).__name__}) does not support masking, but was "
                                f"passed an input mask (from Embedding(mask_zero=True) or Masking upstream)")
            return None
        return mask

    def __call__(self, inputs, **kwargs):
        inputs_list = to_list(inputs)
        if inputs_list and all(isinstance(x, gf.Tensor) for x in inputs_list):
            return self._call_on_tensors(inputs_list, kwargs)
        for x in inputs_list:
            if not isinstance(x, KerasTensor):
                raise TypeError(f"Layer {self.name} was called with an input that isn't a symbolic tensor "
                                f"(got {type(x).__name__}). All inputs to the layer should be tensors made "
                                f"by Input() or by other layers (or all plain graphflow tensors).")
        shapes = [x.shape for x in inputs_list]
        self._check_inputs(shapes)
        self._ensure_built(shapes)
        try:
            with collecting() as (updates, losses):  # this call's own, not the layer's forever
                outputs, masks = self._call_masked([x.tensor for x in inputs_list],
                                                   [x._keras_mask for x in inputs_list], **kwargs)
        except gf.GraphError as err:
            raise gf.GraphError(f"{err}\n  in layer {self.name} ({type(self).__name__}) called on input shape(s) "
                                f"{', '.join(map(str, shapes))}{self._format_hint(shapes)}") from None
        node_index = len(self.inbound_nodes)
        declared = self._declared_output_shapes(shapes)
        keras_outputs = [KerasTensor(t, (self, node_index, i), declared[i] if declared else None, mask=m)
                         for i, (t, m) in enumerate(zip(outputs, masks))]
        Node(self, inputs_list, keras_outputs, kwargs, losses, updates)
        return unpack(keras_outputs)

    def _ensure_built(self, shapes):
        if not self.built:
            self.build(unpack(shapes))
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def _call_on_tensors(self, tensors, kwargs):
        """Keras 2 also applies layers to plain backend tensors (``layer(K.variable(x))``, then
        ``K.eval``): the result is a graphflow tensor, in the inference phase unless
        ``training=`` says otherwise, and no model's node; the call's losses and updates are
        kept for ``get_losses_for(tensors)``."""
        shapes = [tuple(t.shape) for t in tensors]
        self._check_inputs(shapes)
        self._ensure_built(shapes)
        with collecting() as (updates, losses):
            outputs = self._call_graph(unpack(tensors), **kwargs)
        self._direct_calls.append(DirectCall(tensors, losses, updates))
        return outputs

    def _format_hint(self, shapes):
        fmt = getattr(self, "data_format", None)
        if fmt is None or len(shapes[0]) != 4:
            return ""
        shape = shapes[0]
        looks_first = shape[1] is not None and shape[1] <= 4 < (shape[3] or 0)
        looks_last = shape[3] is not None and shape[3] <= 4 < (shape[1] or 0)
        if (fmt == "channels_last" and looks_first) or (fmt == "channels_first" and looks_last):
            other = "channels_first" if fmt == "channels_last" else "channels_last"
            return (f"; data_format is {fmt!r} but the input looks {other}: pass data_format={other!r} or set "
                    f"image_data_format in ~/.graphflow/keras.json")
        return f" (data_format={fmt!r})"

    def _declared_output_shapes(self, shapes):
        """A custom layer's own ``compute_output_shape`` wins over the inferred shapes."""
        if type(self).compute_output_shape is Layer.compute_output_shape:
            return None
        result = self.compute_output_shape(unpack(shapes) if len(shapes) == 1 else shapes)
        return [tuple(s) for s in result] if isinstance(result, list) else [tuple(result)]

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape``, found by building the graph symbolically."""
        multi = isinstance(input_shape, list)
        phs = [gf.placeholder(tuple(s), K.floatx()) for s in (input_shape if multi else [input_shape])]
        if not self.built:
            self.build(input_shape)
            self.built = True
        with collecting():  # a probe: the losses and updates it makes are dropped with it
            outputs = to_list(self._call_graph(phs if multi else phs[0]))
        shapes = [tuple(o.shape) for o in outputs]
        return unpack(shapes) if len(shapes) == 1 else shapes

    # ------------------------------------------------------------ introspection
    def _node_attr(self, attr, what):
        if not self.inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has no defined {what}.")
        values = [getattr(node, attr) for node in self.inbound_nodes]
        if any(v != values[0] for v in values[1:]):
            raise AttributeError(f"The layer {self.name!r} has multiple inbound nodes with different {what}s. "
                                 f"Use get_{what.replace(' ', '_')}_at(node_index) instead.")
        return unpack(values[0])

    input_shape = property(lambda self: self._node_attr("input_shapes", "input shape"))
    output_shape = property(lambda self: self._node_attr("output_shapes", "output shape"))

    @property
    def input(self):
        return unpack(self._single_node("input").input_tensors)

    @property
    def output(self):
        return unpack(self._single_node("output").output_tensors)

    def _single_node(self, what):
        if len(self.inbound_nodes) != 1:
            raise AttributeError(f"Layer {self.name} has {len(self.inbound_nodes)} inbound nodes, so the notion of "
                                 f"\"layer {what}\" is ill-defined. Use get_{what}_at(node_index) instead.")
        return self.inbound_nodes[0]

    def get_input_at(self, node_index):
        return unpack(self.inbound_nodes[node_index].input_tensors)

    def get_output_at(self, node_index):
        return unpack(self.inbound_nodes[node_index].output_tensors)

    def get_output_shape_at(self, node_index):
        return unpack(self.inbound_nodes[node_index].output_shapes)

    # ------------------------------------------------------------ config
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if hasattr(self, "batch_input_shape"):
            config["batch_input_shape"] = self.batch_input_shape
        if hasattr(self, "dtype"):
            config["dtype"] = self.dtype
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


_PARAMS = {}


def _call_params(cls):
    if cls not in _PARAMS:
        params = inspect.signature(cls.call).parameters
        _PARAMS[cls] = set(params) if not any(p.kind is p.VAR_KEYWORD for p in params.values()) \
            else set(params) | {"training"}
    return _PARAMS[cls]
