"""Models, as Keras 2's ``keras.models``: ``Sequential``, ``Model``, and loading/saving.

    >>> model = Sequential()
    >>> model.add(Dense(32, input_dim=784))       # or input_shape=(784,); 784 alone works too
    >>> model.add(Activation("relu"))
    >>> model.compile(optimizer="rmsprop", loss="mse")
"""
import graphflow as gf

from ._utils import is_chief
from .engine.base_layer import Layer
from .engine.input_layer import Input
from .engine.network import Network
from .engine.training import Model

__all__ = ["Sequential", "Model", "load_model", "save_model", "model_from_config", "model_from_json",
           "model_from_yaml"]


class Sequential(Model):
    """A linear stack of layers. The first layer must know its input shape
    (``input_shape=``, ``input_dim=`` or ``batch_input_shape=``; ``batch_size=`` fixes
    the batch). ``model.layers`` leaves out the implicit InputLayer, as in Keras 2.
    """

    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._seq_layers = []
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return list(self._seq_layers)

    def add(self, layer):
        """Append ``layer`` (its output becomes the model's output)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Found: {layer!r}")
        if not self._seq_layers:
            if isinstance(layer, Network) and getattr(layer, "inputs", None):
                x = Input(batch_shape=layer.inputs[0].shape, dtype=layer.inputs[0].dtype,
                          name=gf.derived_name(layer.name, "_input"))
                output = layer(x)
            elif layer.inbound_nodes:  # already called on an Input: continue from there
                if len(layer.inbound_nodes) != 1 or len(layer.inbound_nodes[0].output_tensors) != 1:
                    raise ValueError("A layer added to a Sequential model must have a single output; "
                                     f"{layer.name} has several")
                output = layer.inbound_nodes[0].output_tensors[0]
            else:
                if not hasattr(layer, "batch_input_shape"):
                    raise ValueError(f"The first layer in a Sequential model must get an `input_shape` or "
                                     f"`batch_input_shape` argument (or `input_dim`); {layer.name} "
                                     f"({type(layer).__name__}) has none. Example: "
                                     f"{type(layer).__name__}(..., input_shape=(28, 28, 1))")
                x = Input(batch_shape=layer.batch_input_shape, dtype=layer.dtype,
                          name=gf.derived_name(layer.name, "_input"))
                output = layer(x)
            inputs = self._source_inputs(output)
        else:
            output = layer(self.outputs[0])
            inputs = self.inputs
        if isinstance(output, list):
            raise TypeError("All layers in a Sequential model should have a single output tensor. For multi-output "
                            "layers, use the functional API.")
        self._seq_layers.append(layer)
        self._rewire(inputs, output)

    @staticmethod
    def _source_inputs(tensor):
        layer, node_index, _ = tensor._keras_history
        node = layer.inbound_nodes[node_index]
        if not node.input_tensors:
            return [tensor]
        found = []
        for t in node.input_tensors:
            found += [s for s in Sequential._source_inputs(t) if all(s is not f for f in found)]
        return found

    def _rewire(self, inputs, output):
        self._init_graph(inputs, output)
        self._functions = {}
        self.optimizer = None  # the graph changed: compile again to train (predict works as is)

    def pop(self):
        """Remove the last layer."""
        if not self._seq_layers:
            raise TypeError("There are no layers in the model.")
        removed = self._seq_layers.pop()
        if not self._seq_layers:
            for attr in ("inputs", "outputs", "_all_layers", "_nodes"):
                self.__dict__.pop(attr, None)
            self._functions = {}
            self.optimizer = None
            return
        last = self._seq_layers[-1]
        last.outbound_nodes = [n for n in last.outbound_nodes if n.outbound_layer is not removed]
        self._rewire(self.inputs, self._producing(last))

    def _producing(self, layer):
        nodes = self.network_nodes(layer)
        return nodes[-1].output_tensors[0]

    def build(self, input_shape=None):
        self.built = True

    def fit(self, x=None, y=None, batch_size=32, epochs=10, *args, **kwargs):
        """``Model.fit``, except that ``epochs`` defaults to 10 here, as in Keras 2.0.6
        (``Model.fit`` defaults to 1)."""
        return super().fit(x, y, batch_size, epochs, *args, **kwargs)

    # ------------------------------------------------------------ Sequential-only API
    def predict_proba(self, x, batch_size=32, verbose=0):
        """``predict``, warning if the outputs are not probabilities."""
        preds = self.predict(x, batch_size, verbose)
        if preds.min() < 0.0 or preds.max() > 1.0:
            import warnings
            warnings.warn("Network returning invalid probability values. The last layer might not normalize "
                          "predictions into probabilities (like softmax or sigmoid would).")
        return preds

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Class indices: argmax of the outputs, or (p > 0.5) for a single unit."""
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    # ------------------------------------------------------------ config
    def get_config(self):
        """A list of ``{class_name, config}``, one per layer (Keras 2.0.6 layout)."""
        return [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self._seq_layers]

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild from ``get_config()`` (a list; a dict ``{name, layers}`` as in Keras 2.2+ works too)."""
        from .layers import deserialize
        name = None
        if isinstance(config, dict):
            name, config = config.get("name"), config["layers"]
        model = cls(name=name)
        for conf in config:
            model.add(deserialize(conf, custom_objects=custom_objects))
        return model


def model_from_config(config, custom_objects=None):
    """A model from ``{class_name, config}`` (what ``save_model`` stores), written by
    graphflow or by any Keras from 2.0 to 3 (see ``graphflow.keras.saving.configs``)."""
    if isinstance(config, list):
        raise TypeError("`model_from_config` expects a dictionary, not a list. Maybe you meant to use "
                        "`Sequential.from_config(config)`?")
    from .saving.configs import build_model
    return build_model(config, custom_objects=custom_objects)


def model_from_json(json_string, custom_objects=None):
    """A model from ``model.to_json()`` text (graphflow's or any Keras's)."""
    from .saving.configs import parse_text
    return model_from_config(parse_text(json_string, "JSON"), custom_objects=custom_objects)


def model_from_yaml(yaml_string, custom_objects=None):
    """A model from YAML text (needs PyYAML; read with its safe loader, never as objects, and
    alias bombs refused: ``saving.yaml_text``)."""
    from .saving.configs import parse_text
    return model_from_config(parse_text(yaml_string, "YAML"), custom_objects=custom_objects)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Save to Keras 2 HDF5 (see ``graphflow.keras.saving``); only rank 0 of a
    data-parallel job writes."""
    if not is_chief():
        return
    from . import saving
    saving.save_model(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer)


def load_model(filepath, custom_objects=None, compile=True):
    """Load a model saved by ``save_model`` / ``model.save`` (here or by Keras 2)."""
    from . import saving
    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile)

