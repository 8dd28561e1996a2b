"""Keras 2's backend API for graphs and state (re-exported by ``graphflow.keras.backend``):
placeholders, variables, ``K.function``, ``K.gradients``, ``K.eval``, the learning phase.

    >>> from graphflow.keras import backend as K
    >>> x = K.placeholder(shape=(None, 3)); w = K.variable(np.ones((3, 2)))
    >>> f = K.function([x], [K.dot(x, w)], updates=[(w, w * 0.5)])
    >>> f([np.ones((1, 3))])          # a list in, a list out; then w is halved
    [array([[3., 3.]], dtype=float32)]

The learning phase. graphflow builds one graph per phase instead of switching inside a
graph, so ``K.learning_phase()`` is a scalar placeholder that only ``K.function`` reads:
given among its inputs, the outputs that are layer outputs are computed with the
training-phase graph (dropout on) when it is fed 1 and the inference graph when fed 0.
``K.set_learning_phase(v)`` fixes it (then ``K.learning_phase()`` returns ``v``).
``fit``, ``evaluate`` and ``predict`` always use their own phase, whatever it is set to.
"""
import re

import numpy as np

import graphflow as gf

from . import backend_config as _config

__all__ = [
    "variable", "constant", "zeros", "ones", "eye", "random_uniform_variable",
    "random_normal_variable", "placeholder", "is_keras_tensor", "get_value", "batch_get_value",
    "set_value", "batch_set_value", "eval", "update", "update_add", "update_sub",
    "moving_average_update", "count_params", "int_shape", "ndim", "dtype", "learning_phase",
    "set_learning_phase", "Function", "function", "gradients", "stop_gradient",
    "in_train_phase", "in_test_phase",
]

_phase = {"placeholder": None, "value": None}
# How Keras tensors (layer outputs) are rebuilt in a phase: the model engine, which sits
# above this module, registers it when it is imported (set_phase_rebuilder).
_engine = {"rebuild": None}


# ---------------------------------------------------------------- variables and placeholders

def variable(value, dtype=None, name=None, constraint=None):
    """A graphflow variable holding ``value`` (dtype defaults to floatx)."""
    name = re.sub(r"[^A-Za-z0-9_.\-/]", "_", name) if name else None
    return gf.variable(np.asarray(value, dtype=dtype or _config.floatx()), name=name)


def constant(value, dtype=None, shape=None, name=None):
    """A constant tensor (``shape`` broadcasts a scalar ``value``)."""
    value = np.asarray(value, dtype=dtype or _config.floatx())
    return gf.constant(np.broadcast_to(value, shape).copy() if shape is not None else value)


def zeros(shape, dtype=None, name=None):
    """A variable of zeros (as Keras 2: ``K.zeros`` makes a variable)."""
    return variable(np.zeros(shape), dtype, name)


def ones(shape, dtype=None, name=None):
    return variable(np.ones(shape), dtype, name)


def eye(size, dtype=None, name=None):
    return variable(np.eye(size), dtype, name)


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    """A variable drawn from U(low, high) with NumPy's generator (``seed`` for a fixed draw)."""
    rng = np.random.RandomState(seed) if seed is not None else np.random
    return variable(rng.uniform(low, high, shape), dtype, name)


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    rng = np.random.RandomState(seed) if seed is not None else np.random
    return variable(rng.normal(mean, scale, shape), dtype, name)


def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None):
    """A graphflow placeholder (``ndim`` alone gives all-unknown dims)."""
    if sparse:
        raise ValueError("graphflow.keras has no sparse tensors: K.placeholder(sparse=True) is not supported")
    if shape is None and ndim is None:
        raise ValueError("K.placeholder needs a shape or an ndim")
    shape = shape if shape is not None else (None,) * int(ndim)
    return gf.placeholder(tuple(shape), dtype or _config.floatx(), name)


def is_keras_tensor(x):
    """Whether ``x`` is the output of a Keras layer or ``Input`` (as Keras 2: it carries
    its ``_keras_history``)."""
    return hasattr(x, "_keras_history")


def _tensor(x):
    """The graphflow tensor of a Keras tensor, or ``x`` itself."""
    return getattr(x, "tensor", x)


def get_value(x):
    """The value of a variable as a NumPy array."""
    return x.get_value()


def batch_get_value(xs):
    return [x.get_value() for x in xs]


def set_value(x, value):
    """Assign ``value`` (cast to the variable's dtype) to variable ``x``."""
    x.set_value(np.asarray(value, dtype=x.dtype))


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


def eval(x):  # noqa: A001 (Keras's name)
    """The value of a tensor that needs no feeds (variables, constants, math on them)."""
    x = _tensor(x)
    if isinstance(x, gf.Variable):
        return x.get_value()
    return gf.function([], x, optimize="O0")()


def update(x, new_x):
    """The update pair ``(x, new_x)`` for ``K.function(..., updates=[...])``."""
    return (x, new_x)


def update_add(x, increment):
    return (x, x + increment)


def update_sub(x, decrement):
    return (x, x - decrement)


def moving_average_update(x, value, momentum):
    return (x, x * momentum + value * (1.0 - momentum))


def count_params(x):
    return int(np.prod(x.shape, dtype=np.int64))


def int_shape(x):
    """The static shape as a tuple (``None`` for unknown dims)."""
    shape = getattr(x, "_keras_shape", None)
    return tuple(shape if shape is not None else x.shape)


def ndim(x):
    return len(int_shape(x))


def dtype(x):
    return x.dtype


# ---------------------------------------------------------------- the learning phase

def learning_phase():
    """The learning-phase flag: the value set by ``set_learning_phase``, else a scalar
    uint8 placeholder to give ``K.function`` among its inputs (fed 0 or 1)."""
    if _phase["value"] is not None:
        return _phase["value"]
    if _phase["placeholder"] is None:
        _phase["placeholder"] = gf.placeholder((), "uint8", name="keras_learning_phase")
    return _phase["placeholder"]


def set_learning_phase(value):
    """Fix the learning phase to 0 (test) or 1 (train) for ``K.function`` and
    ``K.in_train_phase``."""
    if value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1, got {value!r}")
    _phase["value"] = int(value)


def _is_phase(x):
    return _phase["placeholder"] is not None and x is _phase["placeholder"]


def set_phase_rebuilder(rebuild):
    """Register ``rebuild(keras_tensors, training) -> graphflow tensors``: how the model
    engine replays layer outputs in a phase. graphflow.keras.engine calls this when it is
    imported; the backend itself never imports the engine."""
    _engine["rebuild"] = rebuild


def _in_phase(tensors, training):
    """Layer outputs (Keras tensors) rebuilt in the phase ``training``; graphflow tensors
    as they are."""
    keras = [t for t in tensors if is_keras_tensor(t)]
    if not keras:
        return [_tensor(t) for t in tensors]
    rebuilt = _engine["rebuild"](keras, training)
    found = {id(k): r for k, r in zip(keras, rebuilt)}
    return [found.get(id(t), _tensor(t)) for t in tensors]


class Function:
    """``K.function``: called with a list of arrays (one per input), returns a list of
    arrays (one per output) and applies the updates. A learning-phase input picks the
    graph per call (see the module docstring)."""

    def __init__(self, inputs, outputs, updates=None, name=None):
        self.inputs, self.outputs = list(inputs), list(outputs)
        self._phase_at = next((i for i, x in enumerate(self.inputs) if _is_phase(x)), None)
        feeds = [_tensor(x) for i, x in enumerate(self.inputs) if i != self._phase_at]
        updates = [(v, _tensor(e)) for v, e in (updates or [])]
        fixed = _phase["value"]
        if self._phase_at is None:
            phases = {None: bool(fixed) if fixed is not None else False}
        else:
            phases = {0: False, 1: True}
        self._fns = {key: gf.function(feeds, _in_phase(self.outputs, training), updates=updates, name=name)
                     for key, training in phases.items()}

    def __call__(self, inputs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(inputs) != len(self.inputs):
            raise ValueError(f"this function takes {len(self.inputs)} inputs (a list), got {len(inputs)}")
        if self._phase_at is None:
            return list(self._fns[None](*inputs))
        phase = int(np.asarray(inputs[self._phase_at]))
        if phase not in (0, 1):
            raise ValueError(f"the learning phase must be fed 0 or 1, got {phase}")
        rest = [v for i, v in enumerate(inputs) if i != self._phase_at]
        return list(self._fns[phase](*rest))


def function(inputs, outputs, updates=None, **kwargs):
    """A callable taking a list of arrays and returning a list: ``K.function([x], [y])``.
    Inputs and outputs may be Keras tensors (layer outputs) or graphflow tensors."""
    unknown = set(kwargs) - {"name"}
    if unknown:
        raise ValueError(f"Invalid argument(s) {sorted(unknown)} passed to K.function (graphflow accepts "
                         f"inputs, outputs, updates and name)")
    return Function(inputs, outputs, updates, kwargs.get("name"))


def gradients(loss, variables):
    """d loss / d each of ``variables`` (a list of tensors)."""
    return gf.grad(_tensor(loss), [_tensor(v) for v in variables])


def stop_gradient(variables):
    if isinstance(variables, (list, tuple)):
        return [gf.stop_gradient(_tensor(v)) for v in variables]
    return gf.stop_gradient(_tensor(variables))


def in_train_phase(x, alt, training=None):
    """``x`` in the training phase, ``alt`` otherwise. ``training``: a Python bool or
    0/1 (a graph for that phase), else the learning phase (set, or a switch on its
    placeholder). ``x`` and ``alt`` may be callables returning tensors."""
    if training is None:
        training = learning_phase()
    if training in (0, 1, True, False):
        chosen = x if training else alt
        return chosen() if callable(chosen) else chosen
    x, alt = (x() if callable(x) else x), (alt() if callable(alt) else alt)
    return gf.where(gf.cast(training, "bool"), x, alt)


def in_test_phase(x, alt, training=None):
    return in_train_phase(alt, x, training)
