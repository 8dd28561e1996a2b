"""Graph sources: placeholders (fed per call), variables (persistent state), constants."""
from __future__ import annotations

import threading
import weakref

import numpy as np

from .dtypes import as_dtype
from .errors import GraphError
from .names import check_path
from .node import active_workspace, scoped, unique_name, user_site
from .tensor import Tensor
from .types import TensorType, format_shape

_const_cache: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()  # dies with its users
_CONST_INTERN_MAX = 256  # elements; larger constants are not looked up by value


class Source(Tensor):
    """A tensor no op produces. ``base`` is its name as asked for (scope path plus the
    given name); ``name`` is unique among live nodes and sources."""

    __slots__ = ("site", "base")

    def __init__(self, type_, base, name=None, site=None):
        super().__init__(type_, None, 0, None)
        self.site = site or user_site()
        self.base = base
        self._name = name if name is not None else unique_name(base, self)


class Placeholder(Source):
    """A value fed each time a compiled function is called."""

    __slots__ = ()


class Constant(Source):
    """A fixed value baked into the graph."""

    __slots__ = ("value",)

    def __init__(self, value: np.ndarray, base, name=None, site=None):
        super().__init__(TensorType(value.dtype.name, value.shape), base, name, site)
        value.setflags(write=False)
        self.value = value


#: held while a variable's value is read or replaced, by the graph layer's cells and the
#: runtime's alike, so a compiled step's updates commit together and reads never see half
STATE_LOCK = threading.RLock()


class HostCell:
    """Where a variable's value lives until a backend takes it: a NumPy array.

    The runtime replaces a variable's cell with its own (``graphflow.runtime.variables``)
    when a compiled function first uses the variable on a backend; the graph layer only
    asks a cell for ``get_value()`` and ``set_value(array)``."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array

    def get_value(self) -> np.ndarray:
        with STATE_LOCK:
            return self.array.copy()

    def set_value(self, array: np.ndarray) -> None:
        with STATE_LOCK:
            self.array = array


class Variable(Source):
    """Persistent state (weights, optimiser slots, RNG counters) living on a backend.

    >>> w = gf.variable(np.zeros((3, 2)), name="w")
    >>> w.set_value(np.ones((3, 2)));  w.get_value()[0, 0]
    1.0
    """

    __slots__ = ("trainable", "_cell")

    def __init__(self, value: np.ndarray, base, trainable=True):
        super().__init__(TensorType(value.dtype.name, value.shape), base)
        self.trainable = bool(trainable)
        self._cell = HostCell(np.array(value, copy=True))

    def get_value(self) -> np.ndarray:
        """A NumPy copy of the current value."""
        return self._cell.get_value()

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
        self._cell.set_value(np.array(arr, dtype=self.dtype, copy=True))


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


def _given(name, kind: str) -> str:
    """A source's name as given (checked by the naming rule), or its kind."""
    return kind if name is None else check_path(name, f"{kind} name")


def placeholder(shape, dtype="float32", name=None) -> Placeholder:
    """A tensor fed at call time: ``x = gf.placeholder((None, 784), name="x")``."""
    try:
        t = TensorType(dtype, tuple(shape))
    except (TypeError, ValueError) as exc:
        raise GraphError(f"placeholder: {exc}") from None
    return Placeholder(t, scoped(_given(name, "placeholder")))


def variable(value, dtype=None, name=None, trainable=True) -> Variable:
    """Persistent state: ``w = gf.variable(np.zeros((784, 10)), name="w")``."""
    arr = _to_array(value, dtype, "variable")
    return Variable(arr, scoped(_given(name, "variable")), trainable)


def constant(value, dtype=None, name=None) -> Constant:
    """A fixed value: ``gf.constant([1, 2, 3], dtype="float32")``. Small unnamed
    constants of equal value are one node, so equal expressions merge."""
    arr = _to_array(value, dtype, "constant")
    if name is not None:
        check_path(name, "constant name")
    ws = active_workspace()
    if ws is not None:
        return _workspace_constant(ws, arr, name)
    if name is None and arr.size <= _CONST_INTERN_MAX:
        key = (arr.dtype.name, arr.shape, arr.tobytes())
        found = _const_cache.get(key)
        if found is None:
            found = _const_cache[key] = Constant(np.array(arr), scoped("const"))
        return found
    return Constant(np.array(arr), scoped(name or "const"))


def _workspace_constant(ws, arr, name) -> Constant:
    """A constant made by the compiler: interned in its workspace, named and placed like
    the node being rewritten, never entered in the user's tables."""
    origin = ws.origin
    scope = origin.scope if origin is not None else ""
    base = f"{scope}/{name or 'const'}" if scope else (name or "const")
    site = origin.site if origin is not None else None
    key = (arr.dtype.name, arr.shape, arr.tobytes()) if name is None and arr.size <= _CONST_INTERN_MAX else None
    found = ws.constants.get(key) if key is not None else None
    if found is None:
        found = Constant(np.array(arr), base, ws.unique(base), site)
        if key is not None:
            ws.constants[key] = found
    return found
