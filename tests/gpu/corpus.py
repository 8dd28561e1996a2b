"""The element-wise kernels the CuPy backend generates for a representative set of
graphs: the fusion tests' graphs, the whole conformance catalog, a Keras MLP and the
VGG-like CNN's training step (examples/vgg_cnn.py), compiled by the CuPy backend's own
compiler decisions (``CupyPlanner``: its kernel table and fusion, NumPy folding
constants), so no GPU is needed to see them.

``corpus()`` returns ``{(Fused op, input types): origin}``: every fused group, every
epilogue (its element-wise tail) and every element-wise op left on its own, which the
backend also runs as a generated one-step kernel.
"""
from __future__ import annotations

import contextlib
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

import graphflow as gf
from graphflow.compiler.program import compile_program
from graphflow.ops.fused import Fused, FusedEpilogue
from graphflow.runtime import backend as registry
from graphflow_numpy import NumpyBackend

from cuda_tools import CupyOnHost
from graphflow_cupy.expressions import EXPRESSIONS

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
for sub in ("core", "compiler"):
    if str(TESTS / sub) not in sys.path:
        sys.path.insert(0, str(TESTS / sub))

PLANNER = "cupy-plan"
_NUMPY = NumpyBackend()


class CupyPlanner(CupyOnHost):
    """The CuPy backend's compile-time decisions (kernel table, fusion, memory plan) on a
    machine without a GPU: constant folding and any call run NumPy's kernels."""
    name = PLANNER

    def kernel(self, node):
        return _NUMPY.kernel(node)

    def available(self):   # compile-time decisions only: no device, no CuPy needed
        return True, ""

    def to_device(self, host_array):   # NumPy's kernels run here: their arrays are NumPy's
        return _NUMPY.to_device(host_array)

    def to_host(self, array):
        return _NUMPY.to_host(array)


@contextlib.contextmanager
def planner_default():
    """``CupyPlanner`` registered and made the default backend, for Keras models."""
    registry.available()
    saved = dict(registry._classes), dict(registry._instances), list(registry._default)
    registry.register_backend(PLANNER, CupyPlanner)
    gf.set_default_backend(PLANNER)
    try:
        yield
    finally:
        registry._classes.clear()
        registry._classes.update(saved[0])
        registry._instances.clear()
        registry._instances.update(saved[1])
        registry._default[:] = saved[2]


def _fusion_graphs():
    import test_fusion as tf
    x = gf.placeholder((None, 5), "float64")
    yield [x], [tf._chain(x)]
    x, b = gf.placeholder((None, 1, 4), "float64"), gf.placeholder((3, 1), "float64")
    yield [x, b], [gf.tanh(x + b) * gf.sigmoid(b * 2.0) + (x > 0.5)]
    e = gf.exp(x)
    yield [x], [gf.tanh(e) * gf.sigmoid(e) + e]
    inputs, loss, updates = tf._cnn_step()
    yield inputs, [loss] + [u for _, u in updates]
    rng = np.random.default_rng(7)
    x = gf.placeholder((None, 5), "float32")
    w = gf.variable(rng.normal(size=(5, 3)).astype("float32"))
    b = gf.variable(rng.normal(size=3).astype("float32"))
    yield [x], [gf.tanh(gf.matmul(x, w) + b)]


def _catalog_graphs():
    from conformance_cases import CASES, build
    for case in CASES:
        yield build(case)


def _keras_programs():
    sys.path.insert(0, str(ROOT / "examples"))
    from vgg_cnn import vgg_like
    from graphflow.keras.layers import Dense, Dropout
    from graphflow.keras.models import Sequential
    from graphflow.keras.optimizers import SGD
    with planner_default():
        mlp = Sequential([Dense(16, activation="relu", input_shape=(8,)), Dropout(0.2),
                          Dense(4, activation="softmax")])
        mlp.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        cnn = vgg_like((20, 20, 3))
        cnn.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.01, decay=1e-6, momentum=0.9,
                                                                   nesterov=True), metrics=["accuracy"])
        for model in (mlp, cnn):
            yield model.train_function.program
            yield model.predict_function.program


def _add(found, node, origin):
    op = node.op
    types = tuple(t.type for t in node.inputs)
    if isinstance(op, FusedEpilogue):
        k = op.n_head_inputs
        head = op.head.infer(*types[:k])
        op, types = op.epilogue, (head,) + types[k:]
    elif not isinstance(op, Fused):
        if not (op.elementwise and type(op) in EXPRESSIONS):
            return
        op = Fused(((op, tuple(range(len(types)))),), len(types))
    found.setdefault((op, types), origin)


@lru_cache(maxsize=1)
def corpus() -> dict:
    found: dict = {}
    planner = CupyPlanner()
    for i, (_, outs) in enumerate(list(_fusion_graphs()) + list(_catalog_graphs())):
        for node in compile_program(outs, planner, "O2").schedule:
            _add(found, node, f"graph {i}")
    for j, program in enumerate(_keras_programs()):
        for node in program.schedule:
            _add(found, node, f"keras program {j}")
    return found
