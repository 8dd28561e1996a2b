"""Optimizers with Keras 2.0.6's exact update rules, as symbolic updates.

``get_updates(loss, params)`` returns ``[(variable, new value expression)]`` pairs that
``compile`` hands to ``gf.function``; every expression reads the values from *before*
the step (functional updates, as Theano). Hyperparameters (``lr``, ``decay``...) are
variables, so callbacks can change them between steps with ``K.set_value``.

Learning-rate decay: ``lr_t = lr / (1 + decay * t)`` where ``t`` (``iterations``) counts
the updates already done. Epsilon sits *outside* the square root (Keras 2), not inside
(Keras 3). Both ``lr=`` (Keras 2) and ``learning_rate=`` (Keras 3) are accepted.

    >>> sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    >>> model.compile(loss="categorical_crossentropy", optimizer=sgd)
"""
import numpy as np

import graphflow as gf

from . import backend as K
from ._utils import assign_values, deserialize_object

_EXTRA_KWARGS = ("clipnorm", "clipvalue")


class Optimizer:
    """Base class. Subclasses define ``_slots`` (names of per-parameter state, in the
    order of Keras 2.0.6's ``optimizer.weights``) and ``_step``."""

    _slots = ()
    _iterations_in_weights = True

    def __init__(self, lr, default_lr, learning_rate=None, decay=0.0, **kwargs):
        for k in kwargs:
            if k not in _EXTRA_KWARGS:
                raise TypeError(f"Unexpected keyword argument passed to optimizer: {k}")
        if lr is not None and learning_rate is not None:
            raise TypeError(f"{type(self).__name__}: pass either lr= (Keras 2) or learning_rate= "
                            f"(Keras 3), not both")
        lr = default_lr if lr is None and learning_rate is None else (lr if lr is not None else learning_rate)
        lr = self._number("lr", lr, minimum=0.0)
        decay = self._number("decay", decay, minimum=0.0)
        self.__dict__.update({k: self._number(k, v, minimum=0.0) for k, v in kwargs.items()})
        prefix = type(self).__name__
        self.iterations = K.variable(0.0, name=f"{prefix}/iterations")
        self.lr = K.variable(lr, name=f"{prefix}/lr")
        self.decay = K.variable(decay, name=f"{prefix}/decay")
        self.initial_decay = float(decay)
        self.updates = []
        self._state = {}  # (slot, id(param)) -> variable; kept across recompiles

    # Keras 3 spelling
    @property
    def learning_rate(self):
        return self.lr

    def _number(self, name, value, minimum=None) -> float:
        """``value`` as a float, once it is known to be one finite number (at least
        ``minimum``): a loaded config's NaN, inf or list would otherwise go unnoticed
        until training diverged or failed."""
        owner = type(self).__name__
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            shown = repr(value)
            raise TypeError(f"{owner}: {name} should be a number, got {type(value).__name__} "
                            f"{shown[:60] + '...' if len(shown) > 60 else shown}")
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"{owner}: {name} should be a finite number, got {value}")
        if minimum is not None and value < minimum:
            raise ValueError(f"{owner}: {name} should be at least {minimum}, got {value}")
        return value

    def _hyper(self, name, value):
        value = self._number(name, value)
        var = K.variable(value, name=f"{type(self).__name__}/{name}")
        setattr(self, name, var)
        return var

    # -------------------------------------------------------------- gradients
    def get_gradients(self, loss, params):
        """d loss / d params, clipped by global norm (``clipnorm``) and value (``clipvalue``)."""
        return self._clipped(gf.grad(loss, list(params)))

    def _clipped(self, grads):
        """``grads`` clipped as ``clipnorm`` / ``clipvalue`` say (the data-parallel
        optimizer clips after averaging, so the norm is the whole batch's)."""
        clipnorm = getattr(self, "clipnorm", 0) or 0
        if clipnorm > 0:
            norm = gf.sqrt(sum(gf.sum(gf.square(g)) for g in grads))
            grads = [gf.where(gf.greater_equal(norm, clipnorm), g * clipnorm / norm, g) for g in grads]
        clipvalue = getattr(self, "clipvalue", 0) or 0
        if clipvalue > 0:
            grads = [gf.clip(g, -clipvalue, clipvalue) for g in grads]
        return grads

    def _slot(self, name, param):
        key = (name, id(param))
        if key not in self._state:
            value = np.zeros(param.shape, dtype=param.dtype)
            self._state[key] = (gf.variable(value, name=f"{param.name}/{name}", trainable=False), param)
        return self._state[key][0]

    def _decayed_lr(self):
        if self.initial_decay > 0:
            return self.lr * (1.0 / (1.0 + self.decay * self.iterations))
        return self.lr

    def get_updates(self, loss, params, constraints=None):
        """The update pairs for one training step on ``loss``. ``constraints`` maps a
        parameter to a function applied to its new value."""
        params = list(params)
        constraints = constraints or {}
        grads = self.get_gradients(loss, params)  # in scope grad/<layer>, as gf.grad makes them
        slots = [[self._slot(name, p) for p in params] for name in self._slots]
        self.weights = ([self.iterations] if self._iterations_in_weights else []) + \
            [v for per_slot in slots for v in per_slot]
        with gf.name_scope(type(self).__name__):  # the update arithmetic: one box per optimizer
            lr = self._lr_for_step()
            self.updates = [(self.iterations, self.iterations + 1.0)]
            for i, (p, g) in enumerate(zip(params, grads)):
                new_p, slot_values = self._step(p, g, [s[i] for s in slots], lr)
                self.updates.extend(zip([s[i] for s in slots], slot_values))
                constraint = constraints.get(p)
                self.updates.append((p, constraint(new_p) if constraint else new_p))
        return self.updates

    def _lr_for_step(self):
        """The learning rate this step's ``_step`` uses."""
        return self._decayed_lr()

    def _step(self, p, g, state, lr):
        raise NotImplementedError

    # -------------------------------------------------------------- state
    @property
    def weights(self):
        """The state variables in Keras 2.0.6 order; empty until ``get_updates`` has made
        them (as in 2.0.6: a compiled, untrained model saves no optimizer state)."""
        return getattr(self, "_weights", [])

    @weights.setter
    def weights(self, value):
        self._weights = list(value)

    def get_weights(self):
        """The optimizer state (Keras 2.0.6 order) as NumPy arrays."""
        return [w.get_value() for w in self.weights]

    def set_weights(self, weights):
        assign_values(self.weights, weights, f"optimizer {type(self).__name__}")

    def _value(self, name):
        return float(K.get_value(getattr(self, name)))

    def get_config(self):
        config = {}
        for k in _EXTRA_KWARGS:
            if hasattr(self, k):
                config[k] = getattr(self, k)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum:
    ``v = momentum * m - lr_t * g``; ``m <- v``; ``p <- p + v``, or with Nesterov
    ``p <- p + momentum * v - lr_t * g``."""

    _slots = ("moment",)

    def __init__(self, lr=None, momentum=0.0, decay=0.0, nesterov=False, learning_rate=None, **kwargs):
        super().__init__(lr, 0.01, learning_rate, decay, **kwargs)
        self._hyper("momentum", momentum)
        self.nesterov = bool(nesterov)

    def _step(self, p, g, state, lr):
        (m,) = state
        v = self.momentum * m - lr * g
        new_p = p + self.momentum * v - lr * g if self.nesterov else p + v
        return new_p, [v]

    def get_config(self):
        return {"lr": self._value("lr"), "momentum": self._value("momentum"), "decay": self._value("decay"),
                "nesterov": self.nesterov, **super().get_config()}


class RMSprop(Optimizer):
    """``a = rho * a + (1 - rho) * g**2``; ``p <- p - lr_t * g / (sqrt(a) + epsilon)``."""

    _slots = ("accumulator",)
    _iterations_in_weights = False

    def __init__(self, lr=None, rho=0.9, epsilon=1e-8, decay=0.0, learning_rate=None, **kwargs):
        super().__init__(lr, 0.001, learning_rate, decay, **kwargs)
        self._hyper("rho", rho)
        self.epsilon = self._number("epsilon", epsilon, minimum=0.0)

    def _step(self, p, g, state, lr):
        (a,) = state
        new_a = self.rho * a + (1.0 - self.rho) * gf.square(g)
        return p - lr * g / (gf.sqrt(new_a) + self.epsilon), [new_a]

    def get_config(self):
        return {"lr": self._value("lr"), "rho": self._value("rho"), "decay": self._value("decay"),
                "epsilon": self.epsilon, **super().get_config()}


class Adagrad(Optimizer):
    """``a = a + g**2`` (from 0); ``p <- p - lr_t * g / (sqrt(a) + epsilon)``."""

    _slots = ("accumulator",)
    _iterations_in_weights = False

    def __init__(self, lr=None, epsilon=1e-8, decay=0.0, learning_rate=None, **kwargs):
        super().__init__(lr, 0.01, learning_rate, decay, **kwargs)
        self.epsilon = self._number("epsilon", epsilon, minimum=0.0)

    def _step(self, p, g, state, lr):
        (a,) = state
        new_a = a + gf.square(g)
        return p - lr * g / (gf.sqrt(new_a) + self.epsilon), [new_a]

    def get_config(self):
        return {"lr": self._value("lr"), "decay": self._value("decay"), "epsilon": self.epsilon,
                **super().get_config()}


class Adadelta(Optimizer):
    """``a = rho a + (1-rho) g**2``; ``u = g sqrt(d + eps) / sqrt(a + eps)``;
    ``p <- p - lr_t u``; ``d = rho d + (1-rho) u**2``."""

    _slots = ("accumulator", "delta_accumulator")
    _iterations_in_weights = False

    def __init__(self, lr=None, rho=0.95, epsilon=1e-8, decay=0.0, learning_rate=None, **kwargs):
        super().__init__(lr, 1.0, learning_rate, decay, **kwargs)
        self.rho = float(rho)
        self.epsilon = self._number("epsilon", epsilon, minimum=0.0)

    def _step(self, p, g, state, lr):
        a, d = state
        new_a = self.rho * a + (1.0 - self.rho) * gf.square(g)
        update = g * gf.sqrt(d + self.epsilon) / gf.sqrt(new_a + self.epsilon)
        new_d = self.rho * d + (1.0 - self.rho) * gf.square(update)
        return p - lr * update, [new_a, new_d]

    def get_config(self):
        return {"lr": self._value("lr"), "rho": self.rho, "decay": self._value("decay"),
                "epsilon": self.epsilon, **super().get_config()}


class Adam(Optimizer):
    """``t = iterations + 1``; ``lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)``;
    ``m = b1 m + (1-b1) g``; ``v = b2 v + (1-b2) g**2``; ``p <- p - lr_t m / (sqrt(v) + eps)``."""

    _slots = ("m", "v")

    def __init__(self, lr=None, beta_1=0.9, beta_2=0.999, epsilon=1e-8, decay=0.0, learning_rate=None,
                 **kwargs):
        super().__init__(lr, 0.001, learning_rate, decay, **kwargs)
        self._hyper("beta_1", beta_1)
        self._hyper("beta_2", beta_2)
        self.epsilon = self._number("epsilon", epsilon, minimum=0.0)

    def _lr_for_step(self):
        t = self.iterations + 1.0
        return self._decayed_lr() * (gf.sqrt(1.0 - gf.pow(self.beta_2, t)) / (1.0 - gf.pow(self.beta_1, t)))

    def _step(self, p, g, state, lr):
        m, v = state
        m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
        v_t = self.beta_2 * v + (1.0 - self.beta_2) * gf.square(g)
        return p - lr * m_t / (gf.sqrt(v_t) + self.epsilon), [m_t, v_t]

    def get_config(self):
        return {"lr": self._value("lr"), "beta_1": self._value("beta_1"), "beta_2": self._value("beta_2"),
                "decay": self._value("decay"), "epsilon": self.epsilon, **super().get_config()}


class Adamax(Adam):
    """Adam with the infinity norm: ``u = max(b2 u, |g|)``; ``p <- p - lr_t m / (u + eps)``
    with ``lr_t = lr / (1 - b1**t)``."""

    _slots = ("m", "u")

    def __init__(self, lr=None, beta_1=0.9, beta_2=0.999, epsilon=1e-8, decay=0.0, learning_rate=None,
                 **kwargs):
        super().__init__(lr if lr is not None or learning_rate is not None else 0.002, beta_1, beta_2,
                         epsilon, decay, learning_rate, **kwargs)

    def _lr_for_step(self):
        return self._decayed_lr() / (1.0 - gf.pow(self.beta_1, self.iterations + 1.0))

    def _step(self, p, g, state, lr):
        m, u = state
        m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
        u_t = gf.maximum(self.beta_2 * u, gf.abs(g))
        return p - lr * m_t / (u_t + self.epsilon), [m_t, u_t]


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat 2015), Keras 2.0.6's rule: a momentum schedule
    ``mu_t = b1 (1 - 0.5 * 0.96**(t * schedule_decay))`` with ``t = iterations + 1``; its
    running product ``m_schedule`` (a variable, from 1) gives
    ``g' = g / (1 - m_schedule_t)``, ``m' = m_t / (1 - m_schedule_t * mu_{t+1})``,
    ``v' = v_t / (1 - b2**t)``, ``p <- p - lr ((1 - mu_t) g' + mu_{t+1} m') / (sqrt(v') + eps)``.
    There is no ``decay`` (as in 2.0.6)."""

    _slots = ("m", "v")

    def __init__(self, lr=None, beta_1=0.9, beta_2=0.999, epsilon=1e-8, schedule_decay=0.004,
                 learning_rate=None, **kwargs):
        super().__init__(lr, 0.002, learning_rate, 0.0, **kwargs)
        self._hyper("beta_1", beta_1)
        self._hyper("beta_2", beta_2)
        self.epsilon = self._number("epsilon", epsilon, minimum=0.0)
        self.schedule_decay = self._number("schedule_decay", schedule_decay)
        self.m_schedule = K.variable(1.0, name="Nadam/m_schedule")

    def _lr_for_step(self):
        t = self.iterations + 1.0
        self._mu_t = self.beta_1 * (1.0 - 0.5 * gf.pow(0.96, t * self.schedule_decay))
        self._mu_next = self.beta_1 * (1.0 - 0.5 * gf.pow(0.96, (t + 1.0) * self.schedule_decay))
        self._schedule_new = self.m_schedule * self._mu_t
        self._bias_v = 1.0 - gf.pow(self.beta_2, t)
        return self.lr

    def get_updates(self, loss, params, constraints=None):
        updates = super().get_updates(loss, params, constraints)
        updates.insert(1, (self.m_schedule, self._schedule_new))
        return updates

    def _step(self, p, g, state, lr):
        m, v = state
        g_prime = g / (1.0 - self._schedule_new)
        m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
        m_prime = m_t / (1.0 - self._schedule_new * self._mu_next)
        v_t = self.beta_2 * v + (1.0 - self.beta_2) * gf.square(g)
        m_bar = (1.0 - self._mu_t) * g_prime + self._mu_next * m_prime
        return p - lr * m_bar / (gf.sqrt(v_t / self._bias_v) + self.epsilon), [m_t, v_t]

    def get_config(self):
        return {"lr": self._value("lr"), "beta_1": self._value("beta_1"), "beta_2": self._value("beta_2"),
                "epsilon": self.epsilon, "schedule_decay": self.schedule_decay, **super().get_config()}


sgd = SGD
rmsprop = RMSprop
adagrad = Adagrad
adadelta = Adadelta
adam = Adam
adamax = Adamax
nadam = Nadam

_CLASSES = (SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam)
_ALL = {c.__name__: c for c in _CLASSES}
_ALL.update({c.__name__.lower(): c for c in _CLASSES})


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None):
    """An optimizer from ``{class_name, config}``; built-in class names match in any case.
    As in Keras 2.0.6, a built-in's ``class_name`` in the given dict is lowercased in
    place ('SGD' -> 'sgd'); Keras 2.0.6's own tests rely on it."""
    if isinstance(config, dict) and isinstance(config.get("class_name"), str):
        name = config["class_name"]
        if not (custom_objects and name in custom_objects) and name.lower() in _ALL:
            config["class_name"] = name.lower()
    return deserialize_object(config, _ALL, custom_objects, "optimizer")


def get(identifier):
    """'sgd', 'adam'... (default settings), a config dict, or an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
