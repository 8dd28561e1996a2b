"""A model thousands of layers deep: the engine walks its graph without recursion."""
import sys

import numpy as np

from graphflow.keras.engine.network import _topological_nodes
from graphflow.keras.layers import Activation, Add, Dense, Input
from graphflow.keras.models import Model


def test_a_model_3000_layers_deep_builds_predicts_and_round_trips_its_config():
    assert sys.getrecursionlimit() < 3000 * 2  # the depth would break a recursive walk
    x = Input((3,))
    h = Dense(3, kernel_initializer="identity", bias_initializer="ones")(x)
    for _ in range(3000):
        h = Activation("linear")(h)
    model = Model(x, h)
    assert len(model.layers) == 3002
    data = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(model.predict(data), data + 1)
    again = Model.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(again.predict(data), data + 1)


def test_topological_order_puts_each_node_after_its_inputs_in_input_order():
    a, b = Input((2,), name="a"), Input((2,), name="b")
    left = Dense(2, name="left")(a)
    right = Dense(2, name="right")(b)
    out = Add(name="add")([left, right])
    names = [n.outbound_layer.name for n in _topological_nodes([out])]
    assert names == ["a", "left", "b", "right", "add"]
