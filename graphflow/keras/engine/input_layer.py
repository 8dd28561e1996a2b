"""``Input()`` and ``InputLayer``: where a model's data enters, as a graphflow placeholder.

    >>> x = Input(shape=(784,))          # a KerasTensor of shape (None, 784)
"""
import numpy as np

import graphflow as gf

from .. import backend as K
from .base_layer import Layer, scope_name
from .node import KerasTensor, Node


class InputLayer(Layer):
    """The layer behind ``Input``: it owns the placeholder fed by ``fit``/``predict``."""

    def __init__(self, input_shape=None, batch_size=None, batch_input_shape=None, dtype=None,
                 input_tensor=None, sparse=False, name=None):
        if not name:
            prefix = "input"
            name = f"{prefix}_{K.get_uid(prefix)}"
        super().__init__(name=name)
        self.trainable = False
        self.built = True
        self.sparse = bool(sparse)
        if sparse:
            raise ValueError("graphflow.keras does not support sparse inputs")
        if input_tensor is not None:
            batch_input_shape = tuple(input_tensor.shape)
        elif batch_input_shape is None:
            if input_shape is None:
                raise ValueError("An Input layer should be passed either a `batch_input_shape` or an `input_shape`.")
            shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
            batch_input_shape = (batch_size,) + shape
        self.batch_input_shape = tuple(None if d is None else int(d) for d in batch_input_shape)
        self.dtype = dtype or K.floatx()
        if input_tensor is None:
            input_tensor = gf.placeholder(self.batch_input_shape, self.dtype, name=scope_name(self.name))
        self.placeholder = input_tensor
        output = KerasTensor(input_tensor, (self, 0, 0), self.batch_input_shape, name=self.name)
        Node(self, [], [output])

    def get_config(self):
        return {"batch_input_shape": self.batch_input_shape, "dtype": self.dtype, "sparse": self.sparse,
                "name": self.name}


def Input(shape=None, batch_shape=None, name=None, dtype=None, sparse=False, tensor=None, batch_size=None):
    """A symbolic model input. ``shape`` excludes the batch axis; ``batch_shape`` includes it.

    >>> a = Input(shape=(32,)); b = Input(batch_shape=(10, 32))
    """
    if shape is None and batch_shape is None and tensor is None:
        raise ValueError("Please provide to Input either a `shape` or a `batch_shape` argument. Note that "
                         "`shape` does not include the batch dimension.")
    if shape is not None and batch_shape is None:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        batch_shape = (batch_size,) + shape
    layer = InputLayer(batch_input_shape=batch_shape, name=name, dtype=dtype, sparse=sparse, input_tensor=tensor)
    return layer.inbound_nodes[0].output_tensors[0]
