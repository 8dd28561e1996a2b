"""The lowering boundary: a third backend that overrides one kernel and the fused-op
hook; kernel tables with parents; host transfer as part of the protocol; compiling never
touches the user's graph; graph tables with a lifetime; deferred kernel checks."""
from __future__ import annotations

import gc

import numpy as np
import pytest

import graphflow as gf
from graphflow.graph import node as node_module
from graphflow.graph import toposort
from graphflow.ops import elementwise as ew
from graphflow.runtime import Backend, KernelTable, backend as registry
from graphflow_numpy import KERNELS, NumpyBackend


# ---------------------------------------------------------------- a toy third backend
TOY_KERNELS = KernelTable(parent=KERNELS, name="toy")
calls = {"tanh": 0, "fused": 0}


@TOY_KERNELS.register(ew.Tanh, writes_out=True, inplace=True)
def toy_tanh(op, node, xp):
    def run(x, out=None):  # tanh computed another way, and counted
        calls["tanh"] += 1
        e = xp.exp(-2.0 * x)
        return xp.divide(1.0 - e, 1.0 + e, out=out)
    return run


class ToyBackend(NumpyBackend):
    """NumPy's kernels, one overridden, and a fused-op hook that wraps NumPy's."""
    name = "toy"
    kernels = TOY_KERNELS

    def compile_fused(self, node):
        run = super().compile_fused(node)

        def counted(*args, out=None):
            calls["fused"] += 1
            return run(*args, out=out)
        return counted


@pytest.fixture
def toy(monkeypatch):
    registry.available()
    monkeypatch.setattr(registry, "_classes", dict(registry._classes))
    monkeypatch.setattr(registry, "_instances", dict(registry._instances))
    registry.register_backend("toy", ToyBackend)
    calls.update(tanh=0, fused=0)
    return registry.get_backend("toy")


def test_a_backend_overrides_one_kernel_and_inherits_the_rest(toy):
    assert TOY_KERNELS.lookup(ew.Tanh) is toy_tanh
    assert TOY_KERNELS.lookup(ew.Add) is KERNELS.lookup(ew.Add)       # inherited
    assert ew.Tanh not in KERNELS._specs or KERNELS.lookup(ew.Tanh) is not toy_tanh  # parent untouched
    x = gf.placeholder((None, 3), "float64")
    f = gf.function([x], gf.tanh(x), backend="toy", optimize="O0")
    a = np.linspace(-2, 2, 6).reshape(2, 3)
    np.testing.assert_allclose(f(a), np.tanh(a))
    assert calls["tanh"] == 1


def test_the_fused_op_hook_is_the_backends_and_uses_its_kernels(toy):
    x = gf.placeholder((None, 3), "float64")
    f = gf.function([x], gf.tanh(x * 2.0) + 1.0, backend="toy")
    assert [n.op.op_name() for n in f.program.schedule] == ["fused"]
    a = np.linspace(-1, 1, 6).reshape(2, 3)
    np.testing.assert_allclose(f(a), np.tanh(2 * a) + 1)
    assert calls == {"tanh": 1, "fused": 1}  # NumPy's generated code called the toy's tanh


def test_a_backend_must_implement_host_transfer():
    class Forgetful(Backend):
        name, xp, kernels = "forgetful", np, KernelTable(parent=KERNELS)

    with pytest.raises(NotImplementedError, match="must implement to_host"):
        Forgetful().to_host(np.ones(2))
    with pytest.raises(NotImplementedError, match="must implement to_device"):
        Forgetful().to_device(np.ones(2))
    assert Backend.kernels is None  # no class-level table shared by every subclass


def test_most_specific_class_wins_then_the_child():
    class Base(gf.Op):
        def infer(self, x):
            return x

    class Derived(Base):
        pass

    parent, child = KernelTable(), None
    child = KernelTable(parent=parent)
    parent.register(Derived)(lambda op, node, xp: "parent-derived")
    child.register(Base)(lambda op, node, xp: "child-base")
    assert child.lookup(Derived)(None, None, None) == "parent-derived"
    child.register(Derived)(lambda op, node, xp: "child-derived")
    assert child.lookup(Derived)(None, None, None) == "child-derived"
    assert child.lookup(Base)(None, None, None) == "child-base" and parent.lookup(Base) is None


# ---------------------------------------------------------------- the user's graph is read-only
def _snapshot(outputs):
    return [(n, n.name, n.base, n.site, n.scope, dict(n.tags), n.inputs) for n in toposort(outputs)]


def test_compiling_leaves_the_users_nodes_unchanged_and_unshared():
    x = gf.placeholder((None, 4), "float64", name="x")
    with gf.name_scope("block"):
        y = gf.tanh(x) / 4.0 + 0.0
        loss = gf.sum(gf.log(gf.nn.softmax(y)) * -1.0)
    (g,) = gf.grad(loss, [x])
    before, counters = _snapshot([loss, g]), dict(node_module._names.counts)
    f = gf.function([x], [loss, g])
    after = _snapshot([loss, g])
    assert before == after
    assert node_module._names.counts == counters  # the compiler took none of the user's names
    user_nodes = {id(n) for n, *_ in before}
    made = [n for n in f.program.schedule if id(n) not in user_nodes]
    assert made, "the compiler made nodes of its own"
    # a user who now builds what the compiler built gets a node of their own
    with gf.name_scope("block"):
        again = gf.tanh(x) * 0.25
    assert id(again.node) not in {id(n) for n in f.program.schedule}
    assert again.node.site.endswith(f"test_lowering.py:{again.node.site.rsplit(':', 1)[1]}")


def test_display_names_come_from_the_graph_not_guesswork():
    a = gf.placeholder((2,), name="x_1")     # a name of the user's own that looks numbered
    b = gf.placeholder((2,), name="x")
    c = gf.placeholder((2,), name="x")
    assert (a.base, b.base, c.base) == ("x_1", "x", "x")
    assert c.name != b.name
    text = gf.viz.dprint(a + b + c, file=None) if hasattr(gf.viz, "dprint") else ""
    assert "x_1" in str(text)


def test_building_many_throwaway_graphs_does_not_grow_memory():
    def build(i):
        with gf.name_scope(f"model{i}"):
            x = gf.placeholder((None, 8), name="x")
            w = gf.variable(np.ones((8, 4), np.float32), name="w")
            return gf.sum(gf.tanh(x @ w) * 2.0)

    def live():
        gc.collect()
        return len(gc.get_objects()), len(node_module._interned), len(node_module._names.counts)

    for i in range(2000):
        build(i)
    objects, interned, names = live()
    for i in range(2000, 10_000):
        build(i)
    objects2, interned2, names2 = live()
    assert objects2 - objects < 2000, f"{objects2 - objects} more live objects after 8,000 more graphs"
    assert interned2 <= interned + 10 and names2 <= max(2 * names, 2048)


# ---------------------------------------------------------------- deferred checks
def test_kernel_checks_are_deferred_and_raise_before_updates_commit():
    labels = gf.placeholder((None,), "int32")
    v = gf.variable(np.zeros(3, np.float32))
    hot = gf.one_hot(labels, 3)
    f = gf.function([labels], gf.sum(hot), updates=[(v, v + 1.0)])
    assert f(np.array([0, 2])) == 2 and v.get_value()[0] == 1
    with pytest.raises(IndexError, match=r"one_hot: index 5 is outside \[0, 3\)"):
        f(np.array([1, 5, 0]))
    assert v.get_value()[0] == 1  # the failed call applied no update
