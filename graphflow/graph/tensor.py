"""Tensor: a symbolic value — the output ``index`` of ``node`` (``None`` for sources).

Operators build nodes: ``+ - * / // % ** @``, unary ``-``, ``abs()``, ``< <= > >=``,
indexing, ``.T``. ``==`` stays identity (tensors are dict keys); use ``gf.equal``.
The operator methods reach ``graphflow.ops`` through a lazy import (the one licensed
upward reference of the graph layer).
"""
from __future__ import annotations

from .types import TensorType


def _ops():
    import graphflow.ops as ops
    return ops


_renderers: dict = {}


def set_svg_renderer(render) -> None:
    """Install ``render(tensor_or_function) -> svg text`` for notebook display.
    ``graphflow.viz`` calls this when it loads: the graph layer imports nothing above it."""
    _renderers["svg"] = render


def render_svg(obj):
    """SVG text for ``obj`` from the installed renderer, or None (notebooks then show repr)."""
    render = _renderers.get("svg")
    return render(obj) if render is not None else None


class Tensor:
    """A symbolic value with a static ``TensorType``."""

    __slots__ = ("type", "node", "index", "_name", "__weakref__")
    __array_priority__ = 1000  # so ndarray + tensor defers to Tensor.__radd__

    def __init__(self, type_: TensorType, node=None, index=0, name=None):
        self.type = type_
        self.node = node
        self.index = index
        self._name = name

    # -- static facts -------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.type.shape

    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def name(self) -> str:
        if self._name is not None:
            return self._name
        node = self.node
        return node.name if len(node.outputs) == 1 else f"{node.name}:{self.index}"

    def __repr__(self):
        return f"<Tensor {self.name} {self.type}>"

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __bool__(self):
        raise TypeError("a symbolic Tensor has no truth value; compile it with gf.function "
                        "or use gf.where for a symbolic choice")

    def __iter__(self):
        raise TypeError("a symbolic Tensor cannot be iterated; index it or use gf.split")

    def __len__(self):
        if not self.shape or self.shape[0] is None:
            raise TypeError(f"len() of a tensor of shape {self.shape} is not known statically")
        return self.shape[0]

    # -- arithmetic ---------------------------------------------------------------------
    def __add__(self, o): return _ops().add(self, o)
    def __radd__(self, o): return _ops().add(o, self)
    def __sub__(self, o): return _ops().sub(self, o)
    def __rsub__(self, o): return _ops().sub(o, self)
    def __mul__(self, o): return _ops().mul(self, o)
    def __rmul__(self, o): return _ops().mul(o, self)
    def __truediv__(self, o): return _ops().div(self, o)
    def __rtruediv__(self, o): return _ops().div(o, self)
    def __floordiv__(self, o): return _ops().floordiv(self, o)
    def __rfloordiv__(self, o): return _ops().floordiv(o, self)
    def __mod__(self, o): return _ops().mod(self, o)
    def __rmod__(self, o): return _ops().mod(o, self)
    def __pow__(self, o): return _ops().pow(self, o)
    def __rpow__(self, o): return _ops().pow(o, self)
    def __matmul__(self, o): return _ops().matmul(self, o)
    def __rmatmul__(self, o): return _ops().matmul(o, self)
    def __neg__(self): return _ops().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().abs(self)
    def __lt__(self, o): return _ops().less(self, o)
    def __le__(self, o): return _ops().less_equal(self, o)
    def __gt__(self, o): return _ops().greater(self, o)
    def __ge__(self, o): return _ops().greater_equal(self, o)
    def __getitem__(self, key): return _ops().getitem(self, key)

    # -- methods ------------------------------------------------------------------------
    @property
    def T(self): return _ops().transpose(self)
    def reshape(self, *shape):
        return _ops().reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    def sum(self, axis=None, keepdims=False): return _ops().sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops().mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _ops().max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _ops().min(self, axis, keepdims)
    def astype(self, dtype): return _ops().cast(self, dtype)
    def transpose(self, *axes): return _ops().transpose(self, axes or None)
    def flatten(self): return _ops().reshape(self, (-1,))

    # -- notebooks ----------------------------------------------------------------------
    def _repr_svg_(self):
        return render_svg(self)
