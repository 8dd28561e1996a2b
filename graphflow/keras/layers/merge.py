"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, and
their functional forms (``add([a, b])``, ``concatenate([a, b], axis=-1)``, ``dot([a, b], 1)``).

    >>> y = Add()([x1, x2])
"""
import functools

import graphflow as gf

from .. import backend as K
from ..engine.base_layer import Layer


class _Merge(Layer):
    """Element-wise merge of a list of same-shaped tensors (broadcasting allowed)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_inputs(self, shapes):
        if len(shapes) < 2:
            raise ValueError(f"A merge layer should be called on a list of at least 2 inputs. Got {len(shapes)} "
                             f"input(s) (layer {self.name}).")
        for shape in shapes[1:]:
            for a, b in zip(reversed(shapes[0]), reversed(shape)):
                if a is not None and b is not None and a != b and 1 not in (a, b):
                    raise ValueError(f"Operands could not be broadcast together with shapes {shapes[0]} "
                                     f"{shape} (layer {self.name})")

    def build(self, input_shape):
        self.built = True

    def call(self, inputs):
        return functools.reduce(self._merge, inputs)


class Add(_Merge):
    """Sum of the inputs."""

    def _merge(self, a, b):
        return a + b


class Subtract(_Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    def _check_inputs(self, shapes):
        if len(shapes) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs (layer {self.name})")
        super()._check_inputs(shapes)

    def _merge(self, a, b):
        return a - b


class Multiply(_Merge):
    """Product of the inputs."""

    def _merge(self, a, b):
        return a * b


class Maximum(_Merge):
    """Element-wise maximum."""

    def _merge(self, a, b):
        return gf.maximum(a, b)


class Minimum(_Merge):
    """Element-wise minimum."""

    def _merge(self, a, b):
        return gf.minimum(a, b)


class Average(_Merge):
    """Mean of the inputs."""

    def call(self, inputs):
        return functools.reduce(lambda a, b: a + b, inputs) / float(len(inputs))


class Concatenate(Layer):
    """Join the inputs along ``axis`` (the others must match)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.supports_masking = True

    def _check_inputs(self, shapes):
        if len(shapes) < 2:
            raise ValueError(f"A `Concatenate` layer should be called on a list of at least 2 inputs "
                             f"(layer {self.name})")
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            raise ValueError(f"A `Concatenate` layer requires inputs of the same rank. Got inputs shapes: {shapes}")
        axis = self.axis % len(shapes[0])
        for shape in shapes[1:]:
            for i, (a, b) in enumerate(zip(shapes[0], shape)):
                if i != axis and a is not None and b is not None and a != b:
                    raise ValueError(f"A `Concatenate` layer requires inputs with matching shapes except for the "
                                     f"concat axis. Got inputs shapes: {shapes}")

    def call(self, inputs):
        return gf.concatenate(list(inputs), self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot products of matching samples of two tensors, along ``axes`` (an int, or one
    axis per input; negative counts from the end); ``normalize=True`` L2-normalizes both
    along those axes first, giving the cosine proximity. ``(batch, n)`` and ``(batch, n)``
    give ``(batch, 1)``; otherwise the result has the first input's other axes, then the
    second's (``K.batch_dot``).

    >>> Dot(axes=1)([a, b])             # a, b (None, 8) -> (None, 1)
    >>> Dot(axes=(1, 2))([x, y])        # x (None, 5, 3), y (None, 4, 5) -> (None, 3, 4)
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for `axes` - should be a list or an int, got {axes!r}")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for `axes` - should contain two elements, got {axes!r}")
            if not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Invalid format for `axes` - list elements should be \"int\", got {axes!r}")
        self.axes = axes if isinstance(axes, int) else list(axes)
        self.normalize = bool(normalize)

    def _axes_for(self, ranks):
        axes = [self.axes] * 2 if isinstance(self.axes, int) else self.axes
        return [a % r if a < 0 else a for a, r in zip(axes, ranks)]

    def _check_inputs(self, shapes):
        if len(shapes) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs, got {len(shapes)} "
                             f"(layer {self.name})")
        a, b = self._axes_for([len(s) for s in shapes])
        if a >= len(shapes[0]) or b >= len(shapes[1]):
            raise ValueError(f"Dot axes {self.axes} are out of range for input shapes {shapes} (layer {self.name})")
        n, m = shapes[0][a], shapes[1][b]
        if n is not None and m is not None and n != m:
            raise ValueError(f"Dimension incompatibility {n} != {m}. Layer shapes: {shapes[0]}, {shapes[1]} "
                             f"(layer {self.name})")

    def call(self, inputs):
        x, y = inputs
        axes = self._axes_for([x.ndim, y.ndim])
        if self.normalize:
            x, y = K.l2_normalize(x, axes[0]), K.l2_normalize(y, axes[1])
        return K.batch_dot(x, y, axes)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """Functional ``Add()(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional ``Concatenate(axis)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    """Functional ``Dot(axes, normalize)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
