"""Memory plan: buffers are shared only by values whose lifetimes do not overlap;
variables, feeds and returned values are never written; repeated calls with other batch
sizes stay correct; in-place work happens where an input dies."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.compiler.memory import assign_buffers, plan_memory
from graphflow.compiler.shapes import concrete_types, source_types
from graphflow.graph import sources


def _types(f, shapes):
    prog = f.program
    return concrete_types(prog.schedule, source_types(sources(prog.outputs), dict(zip(f.inputs, shapes))))


def assert_no_overlap(f, shapes):
    """Tenants of one buffer never live at once (an in-place hand-over at one step aside)."""
    plan = f.program.memory
    a = assign_buffers(plan, _types(f, shapes))
    tenants = {}
    for v, b in enumerate(a.buffer_of):
        if b is not None:
            tenants.setdefault(b, []).append(v)
    for vs in tenants.values():
        vs.sort(key=lambda v: plan.step[v])
        for u, v in zip(vs, vs[1:]):
            assert plan.last[u] < plan.step[v] or (plan.last[u] == plan.step[v] and u in plan.inplace[v]), \
                (plan.values[u], plan.values[v])
    assert not any(a.buffer_of[plan.vid[t]] is not None for t in f.program.outputs if t in plan.vid)
    return a


def _mlp():
    rng = np.random.default_rng(0)
    x, t = gf.placeholder((None, 4), "float64"), gf.placeholder((None, 2), "float64")
    w1, w2 = gf.variable(rng.normal(size=(4, 6))), gf.variable(rng.normal(size=(6, 2)))
    b1 = gf.variable(np.zeros(6))
    h = gf.tanh(gf.sum(gf.expand_dims(x, -1) * w1, 1) + b1)
    h = gf.relu(h * 1.5 - 0.1) + gf.sigmoid(h)
    y = gf.sum(gf.expand_dims(h, -1) * w2, 1)
    loss = gf.mean(gf.square(gf.tanh(y) - t))
    params = [w1, b1, w2]
    updates = [(p, p - 0.1 * g) for p, g in zip(params, gf.grad(loss, params))]
    return [x, t], loss, updates, params


def test_no_two_live_values_share_a_buffer():
    inputs, loss, updates, _ = _mlp()
    f = gf.function(inputs, [loss, gf.grad(loss, inputs[0])], updates=updates)
    for n in (1, 3, 8):
        a = assert_no_overlap(f, [(n, 4), (n, 2)])
        assert a.sizes and sum(b is not None for b in a.buffer_of) > len(a.sizes)  # reuse happened


def test_training_matches_o0_over_changing_batch_sizes():
    runs = {}
    for level in ("O0", "O2"):
        inputs, loss, updates, params = _mlp()
        f = gf.function(inputs, loss, updates=updates, optimize=level)
        data = np.random.default_rng(2)
        runs[level] = [f(data.normal(size=(n, 4)), data.normal(size=(n, 2))) for n in (5, 2, 5, 1, 7, 2)]
        runs[level].append([p.get_value() for p in params])
    np.testing.assert_allclose(runs["O2"][:-1], runs["O0"][:-1], rtol=1e-12)
    for a, b in zip(runs["O2"][-1], runs["O0"][-1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_buffers_are_made_once_per_signature_and_reused():
    x = gf.placeholder((None, 5), "float64")
    y = gf.exp(gf.tanh(x * 2.0) + 1.0)
    f = gf.function([x], gf.sum(y * y, -1))
    f(np.ones((3, 5)))
    sig = f.executor._signatures[((3, 5),)]
    (steps,) = sig.free  # one buffer set, back in the pool after the call
    f(np.ones((2, 5)))
    f(np.zeros((3, 5)))
    assert f.executor._signatures[((3, 5),)] is sig and sig.free == [steps] and sig.made == 1
    assert len(f.executor._signatures) == 2
    np.testing.assert_allclose(f(np.zeros((3, 5))), np.full(3, 5 * np.exp(2 * np.tanh(0) + 2)))


def test_feeds_variables_and_returned_arrays_are_never_overwritten():
    v = gf.variable(np.arange(6.0).reshape(2, 3))
    x = gf.placeholder((None, 3), "float64")
    a = gf.tanh(x * 2.0) + 1.0               # dies into b: a candidate for in-place work
    b = gf.exp(a) * gf.sum(v, 0)
    f = gf.function([x], [a, b, gf.reshape(b, (-1,)), x * 1.0], updates=[(v, v + 1.0)])
    feed = np.ones((2, 3))
    first = f(feed)
    kept = [o.copy() for o in first]
    second = f(feed * 3.0)
    for o, k in zip(first, kept):
        np.testing.assert_array_equal(o, k)
    np.testing.assert_array_equal(feed, np.ones((2, 3)))
    np.testing.assert_array_equal(v.get_value(), np.arange(6.0).reshape(2, 3) + 2)
    np.testing.assert_allclose(second[2], second[1].reshape(-1))


def test_in_place_work_when_an_input_dies():
    x = gf.placeholder((None, 4), "float64")
    a = gf.exp(x)                          # used by two groups: its own kernel, planned buffer
    b = gf.sum(a, -1, keepdims=True)
    y = gf.tanh(a * 2.0) / b               # a dies here: y may take a's buffer
    f = gf.function([x], gf.sum(y, -1))
    plan = f.program.memory
    assign = assert_no_overlap(f, [(3, 4)])
    pairs = [(u, v) for v, cands in enumerate(plan.inplace) for u in cands
             if assign.buffer_of[v] is not None and assign.buffer_of[v] == assign.buffer_of[u]]
    assert pairs, "expected an in-place hand-over"
    data = np.random.default_rng(3).normal(size=(3, 4))
    e = np.exp(data)
    np.testing.assert_allclose(f(data), (np.tanh(2 * e) / e.sum(-1, keepdims=True)).sum(-1))


def test_a_view_keeps_what_it_views_alive():
    x = gf.placeholder((None, 4), "float64")
    a = gf.exp(x) * 2.0                    # planned
    r = gf.transpose(a)                    # a view of a's buffer
    c = gf.tanh(x) + 1.0                   # must not reuse a's buffer while r lives
    y = gf.sum(gf.transpose(c) * r, 0)
    f = gf.function([x], y)
    plan = f.program.memory
    views = [n for n in plan.schedule if n.op.op_name() == "transpose"]
    assert views and all(plan.last[plan.vid[n.inputs[0]]] >= plan.last[plan.vid[n.outputs[0]]]
                         for n in views if n.inputs[0] in plan.vid)
    assert_no_overlap(f, [(3, 4)])
    data = np.random.default_rng(4).normal(size=(3, 4))
    np.testing.assert_allclose(f(data), ((np.tanh(data) + 1) * np.exp(data) * 2).sum(-1))


def test_a_returned_view_is_not_planned():
    x = gf.placeholder((None, 4), "float64")
    a = gf.exp(x) * 2.0
    f = gf.function([x], [gf.reshape(a, (-1,)), gf.tanh(x) * 3.0])
    plan = f.program.memory
    assert not plan.planned[plan.vid[f.program.outputs[0].node.inputs[0]]]  # what the reshape views
    out1 = f(np.zeros((2, 4)))[0].copy()
    f(np.ones((2, 4)))
    np.testing.assert_array_equal(out1, np.full(8, 2.0))


@pytest.mark.parametrize("level", ["O0", "O1"])
def test_lower_levels_plan_no_buffers(level):
    x = gf.placeholder((None, 4), "float64")
    f = gf.function([x], gf.tanh(x * 2.0) + 1.0, optimize=level)
    plan = f.program.memory  # liveness only: the executor frees slots from it
    assert not f.program.plan_buffers and not any(plan.planned)
    assert all(step[3] is None for step in f.executor.steps)
