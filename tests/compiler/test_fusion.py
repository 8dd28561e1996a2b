"""Fusion: element-wise groups become one Fused kernel, conv + bias + activation one
FusedEpilogue; kernel counts are pinned so a fusion regression fails here."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.ops.fused import Fused, FusedEpilogue

from compiler_helpers import compile_both, kernels


def _chain(x):
    return gf.exp(gf.tanh(gf.maximum(x * 1.5 + 0.5, 0.1)) * 2.0) - 1.0


def test_a_chain_of_elementwise_ops_is_one_kernel():
    x = gf.placeholder((None, 5), "float64")
    f0, f2 = compile_both([x], _chain(x), "O2")
    (node,) = f2.program.schedule
    assert isinstance(node.op, Fused) and len(node.op.steps) == 6  # exp(.) - 1 became expm1
    assert node.op.label() == "fused[mul→add→maximum→tanh→mul→expm1]"
    assert node.op.describe()[0] == "t0 = mul(x0, x1)"
    a = np.random.default_rng(0).normal(size=(3, 5))
    np.testing.assert_allclose(f2(a), f0(a), rtol=1e-13)


def test_fused_op_expands_to_what_it_fused():
    x = gf.placeholder((None, 5), "float64")
    f = gf.function([x], _chain(x))
    (node,) = f.program.schedule
    again = node.op.expand(list(node.inputs))
    g = gf.function([x], again, optimize="O0")
    a = np.random.default_rng(1).normal(size=(2, 5))
    np.testing.assert_allclose(g(a), f(a))


def test_chain_runs_without_temporaries_and_a_diamond_with_one():
    x = gf.placeholder((None, 5), "float64")
    f = gf.function([x], _chain(x))
    f(np.ones((3, 5)))
    run = f.executor.steps[0][0]
    (plan,) = run.plans.values()
    assert plan.temps_spec == []
    e = gf.exp(x)
    g = gf.function([x], gf.tanh(e) * gf.sigmoid(e) + e)  # e lives while tanh and sigmoid are computed
    g(np.ones((2, 5)))
    assert len(g.program.schedule) == 1
    (plan,) = g.executor.steps[0][0].plans.values()
    assert len(plan.temps_spec) <= 2
    np.testing.assert_allclose(g(np.zeros((2, 5))), np.full((2, 5), np.tanh(1) / (1 + np.exp(-1)) + 1))


def test_broadcasting_inside_a_fused_group():
    x, b = gf.placeholder((None, 1, 4), "float64"), gf.placeholder((3, 1), "float64")
    y = gf.tanh(x + b) * gf.sigmoid(b * 2.0) + (x > 0.5)
    f0, f2 = compile_both([x, b], y, "O2")
    assert kernels(f2) == ["fused"]
    rng = np.random.default_rng(2)
    for n in (2, 1):
        args = rng.normal(size=(n, 1, 4)), rng.normal(size=(3, 1))
        np.testing.assert_allclose(f2(*args), f0(*args))


def test_values_used_outside_a_group_are_not_recomputed():
    x = gf.placeholder((None, 5), "float64")
    t = gf.tanh(x * 2.0)
    f = gf.function([x], [gf.sum(t, -1), gf.exp(t) + 1.0])
    names = kernels(f)
    assert names.count("fused") == 2 and names.count("sum") == 1
    tanh_count = sum(op.op_name() == "tanh" for n in f.program.schedule if isinstance(n.op, Fused)
                     for op, _ in n.op.steps)
    assert tanh_count == 1


def test_returned_intermediate_ends_a_group():
    x = gf.placeholder((None, 5), "float64")
    t = gf.tanh(x * 2.0)
    f = gf.function([x], [t, t * 3.0 + 1.0])
    assert kernels(f) == ["fused", "fused"]
    a = np.ones((2, 5))
    np.testing.assert_allclose(f(a)[1], np.tanh(2.0) * 3 + 1)


def test_o1_does_not_fuse():
    x = gf.placeholder((None, 5), "float64")
    f = gf.function([x], _chain(x), optimize="O1")
    assert "fused" not in kernels(f) and len(kernels(f)) == 6


def test_conv_bias_relu_is_one_kernel():
    rng = np.random.default_rng(3)
    x = gf.placeholder((None, 6, 6, 2), "float32")
    k = gf.variable(rng.normal(size=(3, 3, 2, 4)).astype("float32"))
    b = gf.variable(rng.normal(size=4).astype("float32"))
    y = gf.relu(gf.nn.bias_add(gf.nn.conv2d(x, k, padding="same"), b))
    f0, f2 = compile_both([x], y, "O2")
    (node,) = f2.program.schedule
    assert isinstance(node.op, FusedEpilogue) and node.op.label().startswith("conv2d same+add+relu")
    assert node.op.describe()[:2] == ["h = conv2d same(x0, x1)", "t0 = add(h, x2)"]
    a = rng.normal(size=(2, 6, 6, 2)).astype("float32")
    np.testing.assert_allclose(f2(a), f0(a), rtol=1e-5, atol=1e-5)


def _cnn_step():
    rng = np.random.default_rng(4)
    x = gf.placeholder((None, 8, 8, 1), "float32")
    t = gf.placeholder((None, 3), "float32")
    k = gf.variable(rng.normal(0, .3, (3, 3, 1, 4)).astype("float32"))
    b = gf.variable(np.zeros(4, "float32"))
    w = gf.variable(rng.normal(0, .3, (64, 3)).astype("float32"))
    h = gf.nn.max_pool2d(gf.relu(gf.nn.bias_add(gf.nn.conv2d(x, k, padding="same"), b)))
    h = gf.reshape(h, (-1, 64))
    logits = gf.sum(gf.expand_dims(h, -1) * w, 1)
    loss = gf.mean(gf.nn.categorical_crossentropy(t, gf.nn.softmax(logits)))
    params = [k, b, w]
    grads = gf.grad(loss, params)
    updates = [(p, p - 0.1 * g) for p, g in zip(params, grads)]
    return [x, t], loss, updates


def test_training_step_kernel_count_is_pinned():
    inputs, loss, updates = _cnn_step()
    f0 = gf.function(inputs, loss, updates=updates, optimize="O0")
    inputs, loss, updates = _cnn_step()
    f2 = gf.function(inputs, loss, updates=updates, optimize="O2")
    counts = f2.program.report.kernels
    assert counts["fused"] == 8 and counts["fused_epilogue"] == 1, counts
    assert len(f2.program.schedule) <= 47 < len(f0.program.schedule), counts  # the loss keeps its clip
    rng = np.random.default_rng(5)
    a, lab = rng.normal(size=(4, 8, 8, 1)).astype("float32"), np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    for _ in range(3):
        np.testing.assert_allclose(f2(a, lab), f0(a, lab), rtol=2e-5)


def test_mlp_step_of_core_ops_kernel_count_is_pinned():
    rng = np.random.default_rng(6)
    x, t = gf.placeholder((None, 4), "float64"), gf.placeholder((None, 2), "float64")
    w1, b1 = gf.variable(rng.normal(size=(4, 5))), gf.variable(np.zeros(5))
    w2 = gf.variable(rng.normal(size=(5, 2)))
    h = gf.tanh(gf.sum(gf.expand_dims(x, -1) * w1, 1) + b1)
    y = gf.sigmoid(gf.sum(gf.expand_dims(h, -1) * w2, 1))
    loss = gf.mean(gf.square(y - t))
    params = [w1, b1, w2]
    updates = [(p, p - 0.5 * g) for p, g in zip(params, gf.grad(loss, params))]
    f2 = gf.function([x, t], loss, updates=updates)
    counts = f2.program.report.kernels
    assert (len(f2.program.schedule), counts["fused"]) == (33, 7), counts  # 48 nodes at O0


def test_dense_bias_activation_is_one_kernel():
    rng = np.random.default_rng(7)
    x = gf.placeholder((None, 5), "float32")
    w = gf.variable(rng.normal(size=(5, 3)).astype("float32"))
    b = gf.variable(rng.normal(size=3).astype("float32"))
    f0, f2 = compile_both([x], gf.tanh(gf.matmul(x, w) + b), "O2")
    (node,) = f2.program.schedule
    assert isinstance(node.op, FusedEpilogue) and node.op.label() == "matmul+add+tanh"
    a = rng.normal(size=(4, 5)).astype("float32")
    np.testing.assert_allclose(f2(a), f0(a), rtol=1e-6)
