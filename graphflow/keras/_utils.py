"""Helpers shared by the keras modules: name lookup of objects and their configs."""
import inspect
import re

from graphflow import distributed


def is_chief() -> bool:
    """False on ranks other than 0 of a data-parallel job (graphflow.distributed): they
    neither print progress bars nor write checkpoints, saved models or CSV logs."""
    return not distributed.is_initialized() or distributed.rank() == 0


def to_snake_case(name):
    """'MaxPooling2D' -> 'max_pooling2d', as Keras 2 names layers."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    snake = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return snake if not snake.startswith("_") else "private" + snake


def serialize_object(obj):
    """``{class_name, config}`` for an object with ``get_config``; None stays None."""
    if obj is None:
        return None
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    if hasattr(obj, "__name__"):
        return obj.__name__
    raise ValueError(f"cannot serialize {obj!r}: it has no get_config() and no name")


def deserialize_object(identifier, module_objects, custom_objects=None, kind="object"):
    """An object from ``{class_name, config}``, a name, or the object itself.

    Names are looked up in ``custom_objects`` first, then ``module_objects``. A class found
    by name with a dict config is built with ``from_config`` (or its constructor)."""
    custom_objects = custom_objects or {}
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"Improper config format for {kind}: {identifier!r} has no class_name")
        name, config = identifier["class_name"], identifier.get("config", {})
        cls = custom_objects.get(name) or module_objects.get(name)
        if cls is None:
            raise ValueError(f"Unknown {kind}: {name}. Pass it in custom_objects if it is your own")
        if hasattr(cls, "from_config"):
            if "custom_objects" in inspect.signature(cls.from_config).parameters:
                return cls.from_config(config, custom_objects=custom_objects)
            return cls.from_config(config)
        return cls(**config)
    if isinstance(identifier, str):
        found = custom_objects.get(identifier) or module_objects.get(identifier)
        if found is None:
            raise ValueError(f"Unknown {kind}: {identifier!r}")
        return found
    return identifier


class Lookup:
    """``serialize`` / ``deserialize`` / ``get`` for a module of objects found by name
    (initializers, regularizers, constraints, activations, losses, metrics).

    ``instantiate``: a name gives a class or factory to call with no arguments
    ('glorot_uniform' -> an initializer); otherwise the named object itself ('relu')."""

    def __init__(self, objects, kind, instantiate=False, default=None):
        self.objects, self.kind, self.instantiate, self.default = objects, kind, instantiate, default

    def serialize(self, obj):
        return serialize_object(obj)

    def deserialize(self, config, custom_objects=None):
        return deserialize_object(config, self.objects, custom_objects, self.kind)

    def get(self, identifier):
        if identifier is None:
            return self.default
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if isinstance(identifier, str):
            found = self.deserialize(identifier)
            return found() if self.instantiate else found
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}")


def normalize_tuple(value, n, name):
    """``value`` as a tuple of ``n`` ints (an int is repeated)."""
    if isinstance(value, int):
        return (value,) * n
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers, got {value!r}") from None
    if len(out) != n:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers, got {value!r}")
    return out


def normalize_data_format(value):
    """None -> the global default (read now, at construction, as Keras 2 did)."""
    from . import backend as K
    if value is None:
        return K.image_data_format()
    fmt = str(value).lower()
    if fmt not in ("channels_first", "channels_last"):
        raise ValueError(f"The `data_format` argument must be one of 'channels_first', "
                         f"'channels_last'. Received: {value!r}")
    return fmt


def normalize_padding(value, allowed=("valid", "same")):
    padding = str(value).lower()
    if padding not in allowed:
        raise ValueError(f"The `padding` argument must be one of {', '.join(map(repr, allowed))}. "
                         f"Received: {value!r}")
    return padding


def json_default(obj):
    """How objects that ``json`` cannot write go into a model config."""
    import numpy as np
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if callable(obj) and hasattr(obj, "__name__"):
        return obj.__name__
    raise TypeError(f"cannot put {obj!r} ({type(obj).__name__}) in a model config")


def assign_values(variables, values, owner):
    """Set each variable to its value, after checking count and shapes (nothing is
    changed when any check fails)."""
    import numpy as np
    if len(variables) != len(values):
        raise ValueError(f"You called `set_weights(weights)` on {owner} with a weight list of length "
                         f"{len(values)}, but it was expecting {len(variables)} weights.")
    for var, value in zip(variables, values):
        if tuple(var.shape) != tuple(np.shape(value)):
            raise ValueError(f"{owner}: weight {var.name!r} has shape {tuple(var.shape)}, not compatible with the "
                             f"provided weight shape {np.shape(value)}")
    for var, value in zip(variables, values):
        var.set_value(np.asarray(value, dtype=var.dtype))
