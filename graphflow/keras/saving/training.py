"""The ``training_config`` attribute: how a saved model was compiled, read from every Keras
generation and written so that Keras 2.3+, tf.keras 2.x, Keras 3 and graphflow compile it.

Optimizer configs come in three spellings: Keras 2.0-2.2 (``lr``, ``decay``; ``clipnorm``
over all gradients together), tf.keras 2.x and Keras 3 (``learning_rate``, possibly a
schedule; ``clipnorm`` per gradient, ``global_clipnorm`` over all). graphflow writes the
modern spelling, with Keras 2's ``decay`` as the equivalent ``InverseTimeDecay`` schedule
(``lr / (1 + decay * iterations)``) and graphflow's (global) ``clipnorm`` as
``global_clipnorm``.

    >>> write_training_config(model)["optimizer_config"]["config"]["learning_rate"]
    0.01
"""
import warnings

from .errors import LoadError, Unsupported

_KNOWN = ("SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam")
_DROPPED = ("name", "is_legacy_optimizer", "jit_compile")
# modern options, accepted only with the value that means what graphflow does
_DEFAULTS = {"weight_decay": (None, 0, 0.0), "use_ema": (False,), "loss_scale_factor": (None,),
             "gradient_accumulation_steps": (None,), "amsgrad": (False,), "centered": (False,)}
_EMA_KEYS = ("ema_momentum", "ema_overwrite_frequency")
# Keras 3 and tf.keras put epsilon under the square root in these; graphflow (Keras 2) outside
_EPSILON_INSIDE = ("RMSprop", "Adagrad")


# ------------------------------------------------------------------ writing

def write_training_config(model):
    """The ``training_config`` of a compiled ``model``."""
    return {"optimizer_config": write_optimizer_config(model.optimizer),
            "loss": _portable(getattr(model, "loss", None), "loss"),
            "metrics": _portable(getattr(model, "metrics", None) or None, "metrics"),
            "weighted_metrics": None,
            "loss_weights": getattr(model, "loss_weights", None),
            "sample_weight_mode": getattr(model, "sample_weight_mode", None)}


# names Keras 3 reads under another spelling (it cannot read the short aliases 'mse', 'mae'...)
_KERAS3_NAMES = {"kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh"}
_GRAPHFLOW_NAMES = {v: k for k, v in _KERAS3_NAMES.items()}


def _portable(value, key):
    """Loss and metric names in full ('mean_squared_error', not 'mse'), through lists and dicts."""
    from .. import losses, metrics
    if isinstance(value, list):
        return [_portable(v, key) for v in value]
    if isinstance(value, dict):
        return {k: _portable(v, key) for k, v in value.items()}
    if isinstance(value, str) and value not in ("accuracy", "acc"):
        for module in ((metrics, losses) if key == "metrics" else (losses,)):
            try:
                value = module.get(value).__name__
                break
            except (ValueError, AttributeError):
                continue
    elif callable(value) and hasattr(value, "__name__"):
        value = value.__name__
    return _KERAS3_NAMES.get(value, value) if isinstance(value, str) else value


def write_optimizer_config(optimizer):
    name = type(optimizer).__name__
    config = dict(optimizer.get_config())
    if name not in _KNOWN or "lr" not in config:
        return {"class_name": name, "config": config}  # the user's own: written as it says
    lr, decay = config.pop("lr"), config.pop("decay", 0.0) or 0.0
    out = {"name": name.lower(), "learning_rate": _schedule(lr, decay) if decay else lr}
    clipnorm, clipvalue = config.pop("clipnorm", None), config.pop("clipvalue", None)
    if clipnorm:
        out["global_clipnorm"] = clipnorm
    if clipvalue:
        out["clipvalue"] = clipvalue
    out.update(config)
    if name == "Adam":
        out["amsgrad"] = False
    if name == "Adagrad":
        out["initial_accumulator_value"] = 0.0  # Keras 2 accumulates from zero
    return {"class_name": name, "config": out}


def _schedule(lr, decay):
    return {"module": "keras.optimizers.schedules", "class_name": "InverseTimeDecay",
            "config": {"initial_learning_rate": lr, "decay_steps": 1, "decay_rate": decay,
                       "staircase": False, "name": "InverseTimeDecay"},
            "registered_name": None}


# ------------------------------------------------------------------ reading

def compile_from(model, training, custom_objects):
    """Compile ``model`` as ``training`` (a training_config) says."""
    from .. import optimizers
    if not isinstance(training, dict) or not isinstance(training.get("optimizer_config"), dict):
        raise LoadError("its training_config has no optimizer_config; load it with compile=False")
    try:
        optimizer = optimizers.deserialize(read_optimizer_config(training["optimizer_config"], custom_objects),
                                           custom_objects=custom_objects)
    except LoadError:
        raise
    except Exception as err:  # an optimizer's constructor may raise anything on a strange config
        raise LoadError(f"optimizer_config: {type(err).__name__}: {err}") from None
    if training.get("weighted_metrics"):
        raise Unsupported("training_config key 'weighted_metrics' is not supported by graphflow's compile; "
                          "load the model with compile=False and compile it yourself")
    try:
        model.compile(optimizer=optimizer,
                      loss=_custom(_losses(training.get("loss"), "loss"), custom_objects),
                      metrics=_custom(_losses(training.get("metrics"), "metrics"), custom_objects),
                      loss_weights=training.get("loss_weights"),
                      sample_weight_mode=training.get("sample_weight_mode"))
    except Exception as err:  # compile may raise anything on a strange training_config
        raise LoadError(f"{type(err).__name__}: {err}") from None


def read_optimizer_config(entry, custom_objects=None):
    """``{class_name, config}`` of an optimizer in graphflow's spelling."""
    class_name, config = entry.get("class_name"), entry.get("config", {})
    if not isinstance(class_name, str) or not isinstance(config, dict):
        raise LoadError(f"optimizer_config {entry!r} is not {{class_name, config}}")
    if custom_objects and class_name in custom_objects:
        return entry
    known = {n.lower(): n for n in _KNOWN}
    if class_name.lower() not in known:
        raise Unsupported(f"optimizer {class_name!r} is not one of graphflow's ({', '.join(_KNOWN)}); pass "
                          "your own in custom_objects or load with compile=False")
    class_name = known[class_name.lower()]
    config = {k: v for k, v in config.items() if k not in _DROPPED}
    modern = "learning_rate" in config
    where = f"optimizer {class_name}"
    for key, accepted in _DEFAULTS.items():
        if key in config:
            value = config.pop(key)
            if value not in accepted:
                raise Unsupported(f"{where}: key {key!r} = {value!r} is not supported by graphflow")
    for key in _EMA_KEYS:
        config.pop(key, None)
    if class_name == "RMSprop" and config.pop("momentum", 0) not in (0, 0.0):
        raise Unsupported(f"{where}: key 'momentum' is not supported by graphflow's RMSprop")
    if modern:
        config.update(_read_learning_rate(config.pop("learning_rate"), where))
        if config.get("clipnorm") is not None:
            raise Unsupported(f"{where}: key 'clipnorm' clips each gradient on its own in tf.keras and "
                              "Keras 3; graphflow's clipnorm is global_clipnorm")
        config.pop("clipnorm", None)
        if class_name in _EPSILON_INSIDE:
            warnings.warn(f"{where}: this file's Keras adds epsilon under the square root; graphflow "
                          "(Keras 2) adds it outside, so training continues with steps that differ "
                          "by the order of epsilon", stacklevel=4)
    if class_name == "Adagrad" and config.pop("initial_accumulator_value", 0.0) not in (0, 0.0):
        warnings.warn(f"{where}: a fresh graphflow Adagrad accumulates from 0, not from the file's "
                      "initial_accumulator_value (saved accumulators are restored all the same)",
                      stacklevel=4)
    global_clipnorm = config.pop("global_clipnorm", None)
    if global_clipnorm is not None:
        config["clipnorm"] = global_clipnorm
    config = {k: v for k, v in config.items() if not (k in ("clipnorm", "clipvalue") and v is None)}
    return {"class_name": class_name, "config": config}


def _read_learning_rate(value, where):
    if not isinstance(value, dict):
        return {"lr": value}
    config = value.get("config", {})
    if value.get("class_name") == "InverseTimeDecay" and isinstance(config, dict) \
            and not config.get("staircase") and config.get("decay_steps"):
        return {"lr": config["initial_learning_rate"],
                "decay": float(config["decay_rate"]) / float(config["decay_steps"])}
    raise Unsupported(f"{where}: learning_rate schedule {value.get('class_name')!r} is not supported "
                      "(graphflow has Keras 2's decay, i.e. InverseTimeDecay without staircase)")


# Keras 3 / tf.keras loss and metric objects with their default options -> graphflow names
_FUNCTIONS = {
    "MeanSquaredError": "mean_squared_error", "MeanAbsoluteError": "mean_absolute_error",
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error",
    "CategoricalCrossentropy": "categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    "BinaryCrossentropy": "binary_crossentropy", "Hinge": "hinge", "SquaredHinge": "squared_hinge",
    "KLDivergence": "kullback_leibler_divergence", "Poisson": "poisson",
    "CategoricalAccuracy": "categorical_accuracy", "SparseCategoricalAccuracy": "sparse_categorical_accuracy",
    "BinaryAccuracy": "binary_accuracy",
}
_NEUTRAL = {"name": None, "dtype": None, "reduction": ("sum_over_batch_size", "auto", None),
            "from_logits": (False,), "label_smoothing": (0, 0.0), "axis": (-1,), "threshold": (0.5,),
            "ignore_class": (None,)}


def _losses(value, key):
    """Loss / metric entries as names graphflow knows, through lists and dicts."""
    if isinstance(value, list):
        return [_losses(v, key) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _losses(v, key) for k, v in value.items()}
    if not isinstance(value, dict):
        return _GRAPHFLOW_NAMES.get(value, value) if isinstance(value, str) else value
    class_name, config = value.get("class_name"), value.get("config") or {}
    if class_name == "function" and isinstance(config, str):
        return _GRAPHFLOW_NAMES.get(config, config)
    if class_name not in _FUNCTIONS or not isinstance(config, dict):
        raise Unsupported(f"training_config key {key!r}: {class_name!r} is not a loss or metric graphflow knows")
    for option, found in config.items():
        accepted = _NEUTRAL.get(option, ())
        if accepted is not None and found not in accepted:
            raise Unsupported(f"training_config key {key!r}: {class_name} option {option!r} = {found!r} is "
                              "not supported by graphflow")
    return _FUNCTIONS[class_name]


def _custom(obj, custom_objects):
    """Replace names found in ``custom_objects`` by the objects, inside lists and dicts."""
    if isinstance(obj, list):
        return [_custom(o, custom_objects) for o in obj]
    if isinstance(obj, dict):
        return {k: _custom(v, custom_objects) for k, v in obj.items()}
    return custom_objects.get(obj, obj) if isinstance(obj, str) else obj
