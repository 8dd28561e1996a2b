"""Graph sources: placeholders (fed per call), variables (persistent state), constants."""
from __future__ import annotations

import weakref

import numpy as np

from .dtypes import as_dtype
from .errors import GraphError
from .node import scoped, unique_name, user_site
from .tensor import Tensor
from .types import TensorType, format_shape

_const_cache: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()  # dies with its users
_CONST_INTERN_MAX = 256  # elements; larger constants are not looked up by value


class Source(Tensor):
    """A tensor no op produces."""

    __slots__ = ("site",)

    def __init__(self, type_, name):
        super().__init__(type_, None, 0, name)
        self.site = user_site()


class Placeholder(Source):
    """A value fed each time a compiled function is called."""

    __slots__ = ()


class Constant(Source):
    """A fixed value baked into the graph."""

    __slots__ = ("value",)

    def __init__(self, value: np.ndarray, name):
        super().__init__(TensorType(value.dtype.name, value.shape), name)
        value.setflags(write=False)
        self.value = value


class Variable(Source):
    """Persistent state (weights, optimiser slots, RNG counters) living on a backend.

    >>> w = gf.variable(np.zeros((3, 2)), name="w")
    >>> w.set_value(np.ones((3, 2)));  w.get_value()[0, 0]
    1.0
    """

    __slots__ = ("trainable", "_array", "_backend")

    def __init__(self, value: np.ndarray, name, trainable=True):
        super().__init__(TensorType(value.dtype.name, value.shape), name)
        self.trainable = bool(trainable)
        self._array = np.array(value, copy=True)
        self._backend = None  # None: host NumPy array

    def get_value(self) -> np.ndarray:
        """A NumPy copy of the current value."""
        if self._backend is None:
            return self._array.copy()
        return np.array(self._backend.to_host(self._array), copy=True)

    def set_value(self, value) -> None:
        """Replace the value; its shape must match exactly and its dtype cast safely
        (same kind, e.g. float64 -> float32). On error the old value stays."""
        arr = np.asarray(value)
        if arr.shape != self.shape:
            raise ValueError(f"variable `{self.name}` has shape {format_shape(self.shape)}; "
                             f"set_value got shape {format_shape(arr.shape)}")
        if arr.dtype.kind not in "biuf" or not np.can_cast(arr.dtype, self.dtype, "same_kind"):
            raise TypeError(f"variable `{self.name}` holds {self.dtype}; set_value got {arr.dtype} "
                            f"which does not cast safely")
        new = np.array(arr, dtype=self.dtype, copy=True)
        if self._backend is not None:
            new = self._backend.to_device(new)
        self._array = new

    # runtime side: the value as an array of ``backend``, moved there on first use
    def _read(self, backend):
        if self._backend is not backend:
            host = self.get_value()
            self._array = host if backend is None else backend.to_device(host)
            self._backend = backend
        return self._array

    def _write(self, array, backend):
        self._array, self._backend = array, backend


def _to_array(value, dtype, what):
    try:
        arr = np.asarray(value) if dtype is None else np.asarray(value, dtype=as_dtype(dtype))
    except (TypeError, ValueError) as exc:
        raise GraphError(f"{what}: cannot make an array of {type(value).__name__}: {exc}") from None
    if arr.dtype.kind not in "biufc":
        raise GraphError(f"{what}: values must be numbers or booleans, got dtype {arr.dtype}")
    if dtype is None and arr.dtype == np.float64 and not isinstance(value, (np.ndarray, np.generic)):
        arr = arr.astype(np.float32)  # Python floats/lists default to float32, as in Keras
    return arr


def placeholder(shape, dtype="float32", name=None) -> Placeholder:
    """A tensor fed at call time: ``x = gf.placeholder((None, 784), name="x")``."""
    try:
        t = TensorType(dtype, tuple(shape))
    except (TypeError, ValueError) as exc:
        raise GraphError(f"placeholder: {exc}") from None
    return Placeholder(t, unique_name(scoped(name or "placeholder")))


def variable(value, dtype=None, name=None, trainable=True) -> Variable:
    """Persistent state: ``w = gf.variable(np.zeros((784, 10)), name="w")``."""
    arr = _to_array(value, dtype, "variable")
    return Variable(arr, unique_name(scoped(name or "variable")), trainable)


def constant(value, dtype=None, name=None) -> Constant:
    """A fixed value: ``gf.constant([1, 2, 3], dtype="float32")``. Small unnamed
    constants of equal value are one node, so equal expressions merge."""
    arr = _to_array(value, dtype, "constant")
    if name is None and arr.size <= _CONST_INTERN_MAX:
        key = (arr.dtype.name, arr.shape, arr.tobytes())
        found = _const_cache.get(key)
        if found is None:
            found = _const_cache[key] = Constant(np.array(arr), unique_name(scoped("const")))
        return found
    return Constant(np.array(arr), unique_name(scoped(name or "const")))
