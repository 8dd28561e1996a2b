"""Errors that speak to people: what was expected, what came, and where in their code."""
from __future__ import annotations


class GraphError(ValueError):
    """A graph cannot be built as asked (impossible shapes, dtypes or arguments)."""


class FeedError(ValueError):
    """A value fed to a compiled function does not fit its placeholder."""


class NonDifferentiableError(TypeError):
    """A gradient was asked through an op that has none."""


class DisconnectedError(ValueError):
    """The cost does not depend on a tensor its gradient was asked for."""
