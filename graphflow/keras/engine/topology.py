"""Where Keras 2.0.x code imports the topology classes from (``keras.engine.topology``):
``Layer``, ``InputLayer``, ``Input``, ``Node``, ``Container`` (a ``Network``) and the
``InputSpec`` helper.

    >>> from graphflow.keras.engine.topology import InputLayer, Layer, Container
"""
from .base_layer import Layer  # noqa: F401
from .node import InputSpec, KerasTensor, Node  # noqa: F401
from .input_layer import Input, InputLayer  # noqa: F401
from .network import Network

Container = Network

