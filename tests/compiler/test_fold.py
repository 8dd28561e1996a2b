"""Prune, constant folding and constant merging."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.graph import Constant

from compiler_helpers import check, compile_both, fired, kernels


def test_fold_evaluates_constant_subgraphs_with_the_backend():
    a, b = gf.constant(np.array([1.0, 2.0, 3.0])), gf.constant(np.array([4.0, 5.0, 6.0]))
    f = check(lambda x: x + gf.exp(a) * b, [(None, 3)], "fold_constants", ["add"])
    (add,) = f.program.schedule
    assert isinstance(add.inputs[1], Constant)
    np.testing.assert_allclose(add.inputs[1].value, np.exp([1.0, 2.0, 3.0]) * [4, 5, 6])


def test_fold_keeps_dtypes():
    x = gf.placeholder((3,), "int32")
    _, f = compile_both([x], x + gf.constant(np.int32(2)) * gf.constant(np.int32(3)))
    assert kernels(f) == ["add"] and f.program.schedule[0].inputs[1].dtype == "int32"
    assert f(np.arange(3, dtype="int32")).dtype == np.int32


def test_fold_does_not_materialise_big_constants():
    x = gf.placeholder((400, 400), "float32")
    big = gf.broadcast_to(gf.constant(np.float32(1.5)), (400, 400))  # 160k elements
    _, f = compile_both([x], x * big)
    assert "broadcast_to" in kernels(f) and "fold_constants" not in fired(f)
    small = gf.placeholder((100, 100), "float32")
    _, g = compile_both([small], small * gf.broadcast_to(gf.constant(np.float32(1.5)), (100, 100)))
    assert kernels(g) == ["mul"] and "fold_constants" in fired(g)


def test_fold_never_touches_variables_or_random_ops():
    v = gf.variable(np.ones(3, "float32"))
    y = gf.nn.dropout(gf.constant(np.ones((4, 3), "float32")), 0.5, seed=1)
    f = gf.function([], [v * 2.0, y])
    assert {"dropout", "mul"} <= set(kernels(f))  # (plus the counter update, an add)
    first, second = f()[1], f()[1]
    assert not np.array_equal(first, second)  # a fresh mask each call


def test_fold_leaves_failing_nodes_for_run_time():
    x = gf.placeholder((2,), "float32")
    bad = gf.nn.one_hot(gf.constant(np.array([5])), 3)  # index out of range: the kernel raises
    f = gf.function([x], [x * 2.0, bad])
    with pytest.raises(IndexError, match="outside"):
        f(np.ones(2, "float32"))


def test_merge_makes_equal_constants_one():
    x = gf.placeholder((None, 3), "float64")
    c1 = gf.constant(np.arange(3.0), name="c1")
    c2 = gf.constant(np.arange(3.0), name="c2")  # named: not interned at build time
    f0, f1 = compile_both([x], gf.tanh(x * c1) + gf.tanh(x * c2))
    assert fired(f1).get("equal constants") == 1
    assert kernels(f1).count("tanh") == 1 and kernels(f1).count("mul") == 1
    a = np.random.default_rng(0).normal(size=(2, 3))
    np.testing.assert_allclose(f1(a), f0(a))


def test_prune_drops_stop_gradient_at_run_time():
    x = gf.placeholder((None, 3), "float64")
    check(lambda x: gf.tanh(gf.stop_gradient(x)), [(None, 3)], "stop_gradient_is_identity", ["tanh"])
    g = gf.grad(gf.sum(gf.stop_gradient(x) * x), x)  # the gradient was built before compiling
    f = gf.function([x], g)
    a = np.ones((2, 3))
    np.testing.assert_allclose(f(a), a)


def test_o0_runs_the_graph_as_written():
    x = gf.placeholder((None, 3), "float64")
    f = gf.function([x], (x * 1) + gf.constant(2.0) * gf.constant(3.0), optimize="O0")
    assert sorted(kernels(f)) == ["add", "mul", "mul"]
    assert [p.name for p in f.program.report.passes] == ["schedule"]
