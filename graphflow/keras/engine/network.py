"""Network: a graph of layers from input tensors to output tensors (Keras 2's Container).

It orders its layers and nodes, replays them to build a graphflow graph for a phase
(``run_graph(inputs, training)``), gathers weights and losses, and reads and writes the
Keras 2 JSON config (``{name, layers: [{name, class_name, config, inbound_nodes}],
input_layers, output_layers}``). A Network is itself a layer: call it on tensors to
nest it in a bigger model.
"""
import json

from .. import backend as K
from ..backend_graph import set_phase_rebuilder
from .._utils import assign_values, is_chief, json_default
from .base_layer import Layer, collecting, to_list, unpack
from .node import KerasTensor
from .input_layer import InputLayer


def _producer(tensor):
    layer, node_index, _ = tensor._keras_history
    return layer.inbound_nodes[node_index]


def _topological_nodes(outputs):
    """The nodes that lead to ``outputs``, each after the nodes it reads from: a depth-first
    post-order, inputs in order. Iterative (an explicit stack), so a model thousands of
    layers deep does not reach Python's recursion limit."""
    order, seen = [], set()
    for out in outputs:
        root = _producer(out)
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.input_tensors))]
        while stack:
            node, pending = stack[-1]
            for t in pending:
                child = _producer(t)
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(child.input_tensors)))
                    break
            else:  # every input placed: the node goes after them
                stack.pop()
                order.append(node)
    return order


class Network(Layer):
    """Layers wired from ``inputs`` to ``outputs`` (lists of Keras tensors)."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if inputs is not None:
            self._init_graph(inputs, outputs)

    # ------------------------------------------------------------ topology
    def _init_graph(self, inputs, outputs):
        self._multi_input = isinstance(inputs, (list, tuple))
        self._multi_output = isinstance(outputs, (list, tuple))
        self.inputs, self.outputs = to_list(inputs), to_list(outputs)
        for kind, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            for t in tensors:
                if not isinstance(t, KerasTensor):
                    raise TypeError(f"{kind} of a Model must be tensors made by Input() or by layers; got "
                                    f"{type(t).__name__}. (Tensors from plain graphflow ops need a Lambda layer.)")
        for t in self.inputs:
            if not isinstance(t._keras_history[0], InputLayer):
                raise ValueError(f"Model inputs must come from `Input()`; {t} comes from layer "
                                 f"{t._keras_history[0].name}")
        self.input_layers = [t._keras_history[0] for t in self.inputs]
        self.output_layers = [t._keras_history[0] for t in self.outputs]
        nodes = _topological_nodes(self.outputs)
        input_ids = {id(t) for t in self.inputs}
        for node in nodes:
            if not node.input_tensors and not any(id(t) in input_ids for t in node.output_tensors):
                reached = [n.outbound_layer.name for n in nodes if n.input_tensors]
                raise ValueError(f"Graph disconnected: cannot obtain value for tensor {node.output_tensors[0]} "
                                 f"at layer {node.outbound_layer.name!r}: it is not among the model inputs. "
                                 f"The following layers were reached without issue: {reached}")
        consumers = {id(n): [] for n in nodes}
        for node in nodes:
            for t in node.input_tensors:
                consumers[id(_producer(t))].append(node)
        depth = {}
        for node in reversed(nodes):
            depth[id(node)] = max((depth[id(c)] + 1 for c in consumers[id(node)]), default=0)
        self._nodes = sorted(nodes, key=lambda n: -depth[id(n)])  # stable: keeps topological ties
        self._node_depth = depth
        self._node_ids = {id(n) for n in nodes}
        layers, seen = [], set()
        for node in self._nodes:
            layer = node.outbound_layer
            if id(layer) not in seen:
                seen.add(id(layer))
                layers.append(layer)
        self._all_layers = layers
        names = [layer.name for layer in layers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise RuntimeError(f"The name(s) {dupes} are used by more than one layer in the model; "
                               f"all layer names should be unique.")
        self.built = True

    @property
    def layers(self):
        return list(getattr(self, "_all_layers", []))

    def network_nodes(self, layer):
        """``layer``'s nodes that belong to this network, in order."""
        return [n for n in layer.inbound_nodes if id(n) in self._node_ids]

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in ``layers``."""
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}")

    # ------------------------------------------------------------ phase graphs
    def run_graph(self, inputs, training=False):
        """Replay the layers on graphflow tensors ``inputs``; returns the output tensors."""
        inputs = to_list(inputs)
        if len(inputs) != len(self.inputs):
            raise ValueError(f"model {self.name} expects {len(self.inputs)} inputs, got {len(inputs)}")
        values = {id(k): v for k, v in zip(self.inputs, inputs)}
        masks = {}  # masks (Embedding(mask_zero=True), Masking) are rebuilt in each phase's graph
        for node in self._nodes:
            if not node.input_tensors:
                continue
            xs = [values[id(t)] for t in node.input_tensors]
            arguments = dict(node.arguments)
            # a call made with training=True/False (Keras 2's `Dropout(0.5)(x, training=True)`,
            # Keras 3's recorded defaults) keeps that phase in every graph, as in Keras
            phase = arguments.pop("training", None)
            arguments.pop("mask", None)  # Keras 3 records it; masks are rebuilt in each graph below
            phase = training if phase is None else bool(phase)
            ys, ms = node.outbound_layer._call_masked(xs, [masks.get(id(t)) for t in node.input_tensors],
                                                      phase, **arguments)
            values.update((id(k), y) for k, y in zip(node.output_tensors, ys))
            masks.update((id(k), m) for k, m in zip(node.output_tensors, ms))
        return [values[id(t)] for t in self.outputs]

    def build_phase(self, training):
        """(outputs, updates, losses) of a fresh graph for one phase, fed by the model's
        own placeholders. Updates and activity losses come from the layers' calls."""
        with collecting() as (updates, losses):
            outputs = self.run_graph([t.tensor for t in self.inputs], training)
        return outputs, list(updates), list(losses)

    def call(self, inputs, training=False):
        return unpack(self.run_graph(inputs, training))

    def compute_mask(self, inputs, mask=None):
        """A nested model's outputs carry no mask (the masks inside it are its own)."""
        return None

    def reset_states(self):
        """Zero the states of every stateful layer (``stateful=True`` RNNs)."""
        for layer in self.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    # ------------------------------------------------------------ weights and losses
    @staticmethod
    def _unique(variables):
        seen, out = set(), []
        for v in variables:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self._unique(w for layer in self.layers for w in layer.trainable_weights)

    @property
    def non_trainable_weights(self):
        own = [w for layer in self.layers for w in layer.non_trainable_weights]
        if not self.trainable:
            own = [w for layer in self.layers for w in layer.trainable_weights] + own
        return self._unique(own)

    @property
    def losses(self):
        """The weight penalties of all layers plus the penalties of the layer calls that
        make up this network (as Keras 2's Container.losses)."""
        calls = [loss for layer in self.layers for node in self.network_nodes(layer) for loss in node.losses]
        return self.get_losses_for(None) + calls

    def get_losses_for(self, inputs):
        if inputs is not None:
            return super().get_losses_for(inputs)
        return [loss for layer in self.layers for loss in layer.get_losses_for(None)] + list(self._losses)

    @property
    def constraints(self):
        found = {}
        for layer in self.layers:
            found.update(getattr(layer, "constraints", {}))
        return found

    @constraints.setter
    def constraints(self, value):
        pass  # a network's constraints are its layers'

    def get_weights(self):
        """All weights, layer by layer, as NumPy arrays."""
        return [w.get_value() for w in self._unique(w for layer in self.layers for w in layer.weights)]

    def set_weights(self, weights):
        """Set all weights, layer by layer, from NumPy arrays (as ``get_weights`` gives them)."""
        assign_values(self._unique(w for layer in self.layers for w in layer.weights), weights,
                      f"model {self.name!r}")

    def count_params(self):
        return int(sum(K.count_params(w) for w in self.trainable_weights + self.non_trainable_weights))

    @property
    def input_shape(self):
        return unpack([t.shape for t in self.inputs])

    @property
    def output_shape(self):
        return unpack([t.shape for t in self.outputs])

    @property
    def input(self):
        return unpack(self.inputs)

    @property
    def output(self):
        return unpack(self.outputs)

    # ------------------------------------------------------------ config
    def get_config(self):
        def ref(tensor):
            layer, node_index, tensor_index = tensor._keras_history
            node = layer.inbound_nodes[node_index]
            return [layer.name, self.network_nodes(layer).index(node), tensor_index]

        layer_configs = []
        for layer in self.layers:
            inbound = []
            for node in self.network_nodes(layer):
                if node.input_tensors:
                    inbound.append([ref(t) + [dict(node.arguments)] for t in node.input_tensors])
            layer_configs.append({"name": layer.name, "class_name": type(layer).__name__,
                                  "config": layer.get_config(), "inbound_nodes": inbound})
        return {"name": self.name, "layers": layer_configs,
                "input_layers": [ref(t) for t in self.inputs],
                "output_layers": [ref(t) for t in self.outputs]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild a functional model from ``get_config()`` output."""
        from ..layers import deserialize as deserialize_layer
        created, outputs_of, pending = {}, {}, []
        for data in config["layers"]:
            layer = deserialize_layer({"class_name": data["class_name"], "config": data["config"]},
                                      custom_objects=custom_objects)
            created[data["name"]] = layer
            outputs_of[data["name"]] = [n.output_tensors for n in layer.inbound_nodes]  # Input layers
            pending.extend((data["name"], node_data) for node_data in data.get("inbound_nodes", []))
        while pending:
            progress, waiting = False, []
            for name, node_data in pending:
                ready = all(n in outputs_of and len(outputs_of[n]) > ni for n, ni, *_ in node_data) and \
                    not any(w[0] == name for w in waiting)
                if not ready:
                    waiting.append((name, node_data))
                    continue
                xs = [outputs_of[n][ni][ti] for n, ni, ti, *_ in node_data]
                kwargs = (node_data[0][3] if len(node_data[0]) > 3 else None) or {}
                outputs_of[name].append(to_list(created[name](unpack(xs), **kwargs)))
                progress = True
            if not progress:
                raise ValueError(f"cannot rebuild the model: nodes of {sorted({w[0] for w in waiting})} refer to "
                                 f"layers or nodes that are not in the config")
            pending = waiting

        def tensors(refs):
            return [outputs_of[n][ni][ti] for n, ni, ti in refs]
        inputs, outputs = tensors(config["input_layers"]), tensors(config["output_layers"])
        return cls(inputs=unpack(inputs) if len(inputs) == 1 else inputs,
                   outputs=unpack(outputs) if len(outputs) == 1 else outputs, name=config.get("name"))

    def to_json(self, **kwargs):
        """The architecture as JSON, in the layout ``save`` writes to HDF5 (dict-shaped
        Sequential with an explicit InputLayer), which the ``model_from_json`` of Keras
        2.2+, tf.keras and Keras 3 read; graphflow's reads it and every older layout.
        ``kwargs`` go to ``json.dumps`` (``indent=2``)."""
        return json.dumps(self._architecture(), default=json_default, **kwargs)

    def to_yaml(self, **kwargs):
        """The architecture as YAML (``to_json``'s content; needs PyYAML)."""
        try:
            import yaml
        except ImportError:
            raise ImportError("to_yaml needs PyYAML: pip install pyyaml") from None
        return yaml.safe_dump(json.loads(self.to_json()), **kwargs)

    def _architecture(self):
        from ..saving.configs import write_model_config
        from ..saving.writing import BACKEND, KERAS_VERSION
        # "module" is how Keras 3's model_from_json finds the class; it reads the layers in
        # this layout itself (the one its load_model reads from HDF5), and older Keras ignore it
        return {"module": "keras", **write_model_config(self), "registered_name": None,
                "keras_version": KERAS_VERSION, "backend": BACKEND}

    def summary(self, line_length=None, positions=None, print_fn=print):
        """Print the layer table exactly as Keras 2 does."""
        from .summary import print_summary
        print_summary(self, line_length, positions, print_fn)

    # ------------------------------------------------------------ saving (graphflow.keras.saving)
    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Architecture + weights + training config + optimizer state, in Keras 2 HDF5.
        In a data-parallel job only rank 0 writes (the others hold the same weights)."""
        if not is_chief():
            return
        from ..saving import save_model
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """The weights alone, in Keras 2 HDF5 (only rank 0 writes in a data-parallel job)."""
        if not is_chief():
            return
        from ..saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False):
        from ..saving import load_weights
        load_weights(self, filepath, by_name=by_name)


def _sources(tensors):
    """The Input tensors the Keras tensors ``tensors`` are computed from."""
    seen, out, stack = set(), [], list(tensors)
    while stack:
        t = stack.pop()
        node = _producer(t)
        if not node.input_tensors:
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
        stack.extend(node.input_tensors)
    return out


def rebuild_in_phase(tensors, training):
    """Layer outputs ``tensors`` (Keras tensors) as graphflow tensors of the phase
    ``training``: what ``K.function`` with a learning-phase input compiles."""
    sources = _sources(tensors)
    net = Network(sources, tensors, name="k_function")
    return net.run_graph([s.tensor for s in sources], training)


set_phase_rebuilder(rebuild_in_phase)

