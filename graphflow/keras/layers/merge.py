"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, and
their functional forms (``add([a, b])``, ``concatenate([a, b], axis=-1)``).

    >>> y = Add()([x1, x2])
"""
import functools

import graphflow as gf

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
