"""Model configurations of every Keras generation, read into graphflow's, and graphflow's
written in the layout every Keras from 2.2 to 3 reads.

Reading understands:

- Keras 2.0.x: a Sequential config is a list of layers; the first has ``batch_input_shape``;
- Keras 2.2+ and tf.keras 2.x: ``{name, layers}``, often with an explicit ``InputLayer``;
  initializers such as ``GlorotUniform``; functional models called ``Functional``;
- Keras 3: ``batch_shape``, dtype policies as nested objects, ``module`` and
  ``registered_name`` keys, functional nodes as ``{args, kwargs}`` with ``__keras_tensor__``
  entries, and keys graphflow's layers lack (``groups``, ``lora_rank``...), accepted only
  with the value that means what graphflow does (see ``layer_keys.py``).

Anything graphflow cannot honour raises ``Unsupported`` naming the layer and the key.

Writing turns ``model.get_config()`` into ``{"class_name": "Sequential", "config":
{"name", "layers": [InputLayer, ...]}}`` (or the functional layout), which Keras 2.2+,
tf.keras 2.x, Keras 3 and graphflow all read.

    >>> model = build_model(json.loads(text), custom_objects=None)
    >>> write_model_config(model)["config"]["layers"][0]["class_name"]
    'InputLayer'
"""
import warnings

from .errors import LoadError, Unsupported
from .keras3_masks import drop_recorded_masks
from .layer_keys import (CLASS_ALIASES, KERAS3_ACTIVATIONS, LAYER_KEYS, OBJECT_ALIASES, OBJECT_KEYS,
                         VARIANCE_SCALING, Default, Rename)

_MODELS = ("Sequential", "Model", "Functional")
_DTYPE_POLICIES = ("DTypePolicy", "FloatDTypePolicy", "Policy")
_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")


def looks_like_keras3(config):
    """Whether a config was written by Keras 3 (``module`` keys, ``batch_shape``, dtype
    policies): what an activation's name means depends on it. A Keras 2 ``to_json`` text
    says its version (``keras_version``), which then decides."""
    if isinstance(config, dict) and isinstance(config.get("keras_version"), str):
        return config["keras_version"].startswith("3.")
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "batch_shape" in item or ("module" in item and "class_name" in item):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# ------------------------------------------------------------------ reading

def parse_text(text, kind):
    """A model config from JSON or YAML text; a malformed text raises ``LoadError``.
    YAML is read with ``yaml_text.load``: ``yaml.safe_load``'s plain data only, never Python
    objects, with alias expansion bounded (an alias bomb is refused)."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf8")
        except UnicodeDecodeError as err:
            raise LoadError(f"the {kind} model config is not UTF-8 text ({err})") from None
    if not isinstance(text, str):
        raise TypeError(f"model_from_{kind.lower()} expects a string, got {type(text).__name__}")
    if kind == "YAML":
        try:
            import yaml
        except ImportError:
            raise ImportError("model_from_yaml needs PyYAML: pip install pyyaml") from None
        from .yaml_text import YamlRefused, load
        errors = (yaml.YAMLError, YamlRefused)
    else:
        import json
        errors, load = (json.JSONDecodeError,), json.loads
    try:
        config = load(text)
    except (*errors, RecursionError, ValueError) as err:
        raise LoadError(f"the {kind} model config cannot be parsed: {err}") from None
    if not isinstance(config, dict):
        raise LoadError(f"the {kind} model config should be a mapping {{class_name, config}}, found "
                        f"{type(config).__name__}")
    return config


def build_model(config, custom_objects=None, keras3=None):
    """A graphflow model from a ``{class_name, config}`` model config of any generation.
    Raises ``LoadError`` (``Unsupported`` for what graphflow cannot honour) naming the
    layer and the key."""
    from ..layers import deserialize
    custom_objects = custom_objects or {}
    if keras3 is None:
        keras3 = looks_like_keras3(config)
    try:
        reader = _Reader(custom_objects, keras3)
        translated, trainable = reader.model(config)
        model = deserialize(translated, custom_objects=custom_objects)
    except LoadError:
        raise
    except Exception as err:  # a layer's constructor may raise anything on a strange config
        notes = getattr(err, "__notes__", None)
        where = f"{notes[0]}: " if notes else ""
        raise LoadError(f"the model config cannot be built: {where}{type(err).__name__}: {err}") from None
    if trainable is False:
        model.trainable = False
    return model


def _expect(kind, value, what):
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise LoadError(f"{what} should be a {names}, found {type(value).__name__} {_short(value)}")
    return value


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Reader:
    def __init__(self, custom_objects, keras3):
        self.custom_objects, self.keras3 = custom_objects, keras3

    def model(self, entry):
        """(graphflow config, trainable flag) of a ``{class_name, config}`` model entry."""
        _expect(dict, entry, "the model config")
        class_name = _expect(str, entry.get("class_name"), "the model's class_name")
        config = entry.get("config")
        if class_name in self.custom_objects or class_name not in _MODELS:
            return self.layer(entry), None
        if class_name == "Sequential":
            return self.sequential(config)
        config = dict(_expect(dict, config, "a functional model's config"))
        trainable = config.pop("trainable", None)
        layers = drop_recorded_masks(_expect(list, config.get("layers"), "its layers"))
        config["layers"] = [self.node_layer(e) for e in layers]
        for key in ("input_layers", "output_layers"):
            refs = _expect(list, config.get(key), f"its {key}")
            config[key] = [refs] if refs and isinstance(refs[0], str) else refs  # Keras 3, one tensor
        return {"class_name": "Model", "config": config}, trainable

    def sequential(self, config):
        if isinstance(config, list):  # Keras 2.0.x
            name, entries, build_shape, trainable = None, config, None, None
        else:
            _expect(dict, config, "a Sequential config")
            name, build_shape = config.get("name"), config.get("build_input_shape")
            entries, trainable = _expect(list, config.get("layers"), "a Sequential's layers"), config.get("trainable")
        layers = [self.nested(e) for e in entries]
        if layers and layers[0]["class_name"] == "InputLayer":
            source = layers.pop(0)["config"]
            if any(layer["class_name"] == "InputLayer" for layer in layers):
                raise LoadError("a Sequential config has more than one InputLayer")
            if layers and layers[0]["class_name"] not in _MODELS:
                first = layers[0]["config"]
                first["batch_input_shape"] = source.get("batch_input_shape")
                if source.get("dtype"):
                    first["dtype"] = source["dtype"]
        elif layers and build_shape and layers[0]["class_name"] not in _MODELS:
            layers[0]["config"].setdefault("batch_input_shape", build_shape)
        return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}, trainable

    def nested(self, entry):
        """A layer entry that may itself be a model."""
        _expect(dict, entry, "a layer entry")
        if entry.get("class_name") in _MODELS and entry.get("class_name") not in self.custom_objects:
            translated, trainable = self.model(entry)
            if trainable is False:
                raise Unsupported(f"nested model {_name_of(entry)!r}: trainable=False on a nested model "
                                  "is not supported; set it after loading")
            return translated
        return self.layer(entry)

    def node_layer(self, entry):
        """A functional model's layer entry: the layer plus its inbound nodes."""
        out = self.nested(entry)
        name = _expect(str, entry.get("name", _name_of(entry)), "a layer entry's name")
        nodes = _expect(list, entry.get("inbound_nodes", []), f"the inbound_nodes of layer {name!r}")
        return {"name": name, **out, "inbound_nodes": [_node(n, name) for n in nodes]}

    def layer(self, entry):
        _expect(dict, entry, "a layer entry")
        class_name = _expect(str, entry.get("class_name"), "a layer's class_name")
        registered = entry.get("registered_name")
        if class_name not in self.custom_objects and registered in self.custom_objects:
            class_name = registered
        config = dict(_expect(dict, entry.get("config", {}), f"the config of a {class_name} layer"))
        where = f"layer {config.get('name')!r} ({class_name})"
        custom = self.custom_objects.get(class_name)
        if custom is None:
            class_name = CLASS_ALIASES.get(class_name, class_name)
        for key, value in list(config.items()):
            if key == "dtype":
                config[key] = _dtype(value, where)
            elif key in ("activation", "recurrent_activation"):
                config[key] = self.activation(value, where, key)
            elif key in ("layer", "backward_layer") and isinstance(value, dict):
                config[key] = self.layer(value)  # a wrapper's inner layer (TimeDistributed, Bidirectional)
            elif key.endswith(("_initializer", "_regularizer", "_constraint")):
                config[key] = _object(value, f"{where}, key {key!r}")
        if class_name == "BatchNormalization" and isinstance(config.get("axis"), list) \
                and len(config["axis"]) == 1:
            config["axis"] = config["axis"][0]  # tf.keras writes [3]
        # a class of the user's own is read with the table of the graphflow layer it extends
        bases = [c.__name__ for c in getattr(custom, "__mro__", ())] if custom is not None else [class_name]
        _apply_table(next((b for b in bases if b in LAYER_KEYS), class_name), config, where)
        return {"class_name": class_name, "config": _renamed_batch_shape(config)}

    def activation(self, value, where, key="activation"):
        if isinstance(value, dict):  # Keras 3: {"class_name": "function", "config": "relu"}
            inner = value.get("config")
            if value.get("class_name") in ("function", "Activation") and isinstance(inner, str):
                value = inner
            else:
                raise Unsupported(f"{where}: activation {_short(value)} is not a named function")
        if self.keras3 and value in KERAS3_ACTIVATIONS:
            raise Unsupported(f"{where}: key {key!r} = {value!r}: {KERAS3_ACTIVATIONS[value]}")
        return value


def _name_of(entry):
    config = entry.get("config")
    return config.get("name") if isinstance(config, dict) else None


def _renamed_batch_shape(config):
    if "batch_shape" in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    return config


def _apply_table(class_name, config, where):
    for key, rule in LAYER_KEYS.get(class_name, {}).items():
        if key not in config:
            continue
        value = config.pop(key)
        if isinstance(rule, Rename):
            config[rule.to] = value
        elif isinstance(rule, Default):
            if value != rule.value:
                raise Unsupported(f"{where}: key {key!r} = {_short(value)} is not supported by graphflow "
                                  f"(only {rule.value!r})")
            for other in rule.also:
                config.pop(other, None)


def _dtype(value, where):
    """A dtype name from a string or a Keras 3 dtype policy object."""
    if isinstance(value, dict):
        name = value.get("config", {}).get("name") if isinstance(value.get("config"), dict) else None
        if value.get("class_name") not in _DTYPE_POLICIES or not isinstance(name, str):
            raise Unsupported(f"{where}: key 'dtype' = {_short(value)} is not a dtype graphflow knows")
        value = name
    if value is None:
        return None
    if not isinstance(value, str) or value not in _DTYPES:
        raise Unsupported(f"{where}: key 'dtype' = {_short(value)}: graphflow layers compute in one dtype "
                          f"({', '.join(_DTYPES)}); mixed-precision policies and bfloat16 are not supported")
    return value


def _object(value, where):
    """An initializer / regularizer / constraint config in graphflow's spelling."""
    if value is None or isinstance(value, str):
        return value
    _expect(dict, value, where)
    class_name = _expect(str, value.get("class_name"), f"{where}: class_name")
    config = dict(_expect(dict, value.get("config", {}) or {}, f"{where}: config"))
    for key, rule in OBJECT_KEYS.items():
        if key in config:
            found = config.pop(key)
            if found != rule.value:
                raise Unsupported(f"{where}: {class_name} option {key!r} = {_short(found)} is not supported")
    if class_name in VARIANCE_SCALING:
        scale, mode, distribution = VARIANCE_SCALING[class_name]
        config = {"scale": scale, "mode": mode, "distribution": distribution, "seed": config.get("seed")}
        class_name = "VarianceScaling"
    elif class_name in OBJECT_ALIASES:
        class_name, renames = OBJECT_ALIASES[class_name]
        config = {renames.get(k, k): v for k, v in config.items()}
    if class_name == "VarianceScaling":
        distribution = config.get("distribution")
        if distribution == "truncated_normal":
            config["distribution"] = "normal"
        elif distribution == "untruncated_normal":
            raise Unsupported(f"{where}: VarianceScaling(distribution='untruncated_normal') is not supported "
                              "(graphflow draws truncated normals, as Keras 2 did)")
    return {"class_name": class_name, "config": config}


def _node(node, layer):
    """One inbound node as graphflow's ``[[layer, node_index, tensor_index, kwargs], ...]``."""
    if isinstance(node, list):  # Keras 2
        return node
    _expect(dict, node, f"an inbound node of layer {layer!r}")
    tensors, kwargs = [], dict(_expect(dict, node.get("kwargs", {}), f"node kwargs of layer {layer!r}"))
    kwargs.pop("training", None)  # Keras 3 records the phase of the call that built the model; the phase is the run's

    def collect(item):
        if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
            history = _expect(list, item.get("config", {}).get("keras_history"), "a keras_history")
            if len(history) != 3:
                raise LoadError(f"layer {layer!r}: keras_history {history!r} should be [layer, node, tensor]")
            tensors.append(list(history))
        elif isinstance(item, (list, tuple)):
            for x in item:
                collect(x)
        else:
            raise Unsupported(f"layer {layer!r}: a call with the non-tensor argument {_short(item)} is not "
                              "supported")
    collect(_expect(list, node.get("args", []), f"node args of layer {layer!r}"))
    for key, value in kwargs.items():
        if looks_like_tensor(value):
            raise Unsupported(f"layer {layer!r}: a call with a tensor as keyword argument {key!r} is not supported")
    return [history + [kwargs] for history in tensors]


def looks_like_tensor(value):
    if isinstance(value, dict):
        return value.get("class_name") == "__keras_tensor__"
    if isinstance(value, (list, tuple)):
        return any(looks_like_tensor(v) for v in value)
    return False


# ------------------------------------------------------------------ writing

# graphflow options whose default means a format Keras 3 would read otherwise
_EXPLICIT = {"Flatten": {"data_format": "channels_last"}}
# keys Keras 3's constructors of these classes refuse, and that mean nothing for them (no weights)
_OMITTED = {f"SpatialDropout{n}D": ("trainable",) for n in (1, 2, 3)}


def write_model_config(model):
    """``{"class_name", "config"}`` of ``model`` in the layout of Keras 2.2+ and Keras 3
    (dict-shaped Sequential with an explicit InputLayer; functional as ``Model``)."""
    from ..models import Sequential
    differing = []
    config = _write(model, Sequential, differing)
    if differing:
        warnings.warn(f"these layers use activations that mean something else in Keras 3, so Keras 3 "
                      f"will compute other values: {'; '.join(differing)}", stacklevel=3)
    return config


def _write(model, sequential_class, differing):
    if isinstance(model, sequential_class):
        if not getattr(model, "inputs", None):
            raise ValueError(f"model {model.name!r} has no layers: there is nothing to save")
        source = model.inputs[0]._keras_history[0]
        layers = [{"class_name": "InputLayer", "config": source.get_config()}]
        layers += [_write_layer(layer, sequential_class, differing) for layer in model.layers]
        return {"class_name": "Sequential", "config": {"name": model.name, "layers": layers}}
    config = model.get_config()
    by_name = {layer.name: layer for layer in model.layers}
    for entry in config["layers"]:
        entry.update(_write_layer(by_name[entry["name"]], sequential_class, differing))
    return {"class_name": type(model).__name__, "config": config}


def _write_layer(layer, sequential_class, differing):
    from ..engine.input_layer import InputLayer
    from ..engine.network import Network
    if isinstance(layer, Network):
        return _write(layer, sequential_class, differing)
    class_name = type(layer).__name__
    config = layer.get_config()
    if not isinstance(layer, InputLayer):
        config.pop("batch_input_shape", None)  # the InputLayer entry holds the shape
        config.pop("dtype", None)
    for key, value in _EXPLICIT.get(class_name, {}).items():
        if config.get(key) is None:
            config[key] = value
    for key in _OMITTED.get(class_name, ()):
        config.pop(key, None)
    inner = getattr(layer, "layer", None)
    if isinstance(config.get("layer"), dict) and inner is not None:  # a wrapper: its layer written alike;
        # Keras 3 reads a wrapper's layer with its new deserializer, which needs the module
        config["layer"] = {"module": "keras.layers", **_write_layer(inner, sequential_class, differing),
                           "registered_name": None}
    for key in ("activation", "recurrent_activation"):
        activation = config.get(key)
        if activation in KERAS3_ACTIVATIONS:
            differing.append(f"{layer.name} ({key} {activation}: {KERAS3_ACTIVATIONS[activation]})")
    return {"class_name": class_name, "config": config}
