"""gf.while_loop and gf.cond: TF 1.x semantics, values, gradients, nesting, errors."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad


def test_while_loop_values_structure_and_cap():
    x = gf.placeholder((3,), name="x")
    i, s = gf.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s * 1.5 + x),
                         (gf.constant(0, dtype="int64"), gf.zeros_like(x)))
    got_i, got_s = gf.function([x], [i, s])(np.ones(3, "float32"))
    ref = np.zeros(3)
    for _ in range(5):
        ref = ref * 1.5 + 1
    assert int(got_i) == 5
    np.testing.assert_allclose(got_s, ref, rtol=1e-6)
    out = gf.while_loop(lambda d: d["v"].sum() < 100.0, lambda d: {"v": d["v"] * 2.0}, {"v": x},
                        maximum_iterations=3)
    assert isinstance(out, dict) and set(out) == {"v"}
    np.testing.assert_allclose(gf.function([x], out["v"])(np.ones(3, "float32")), [8, 8, 8])
    single = gf.while_loop(lambda s: s.sum() < 100.0, lambda s: s * 2.0, x)
    assert isinstance(single, gf.Tensor)
    np.testing.assert_allclose(gf.function([x], single)(np.ones(3, "float32")), [64, 64, 64])
    zero = gf.function([x], gf.while_loop(lambda s: s.sum() < 0.0, lambda s: s * 2.0, x))
    np.testing.assert_allclose(zero(np.ones(3, "float32")), [1, 1, 1])  # no iteration


def test_while_loop_gradients():
    rng = np.random.default_rng(0)

    def f(x, s0):
        _, s = gf.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, gf.tanh(s * x)),
                             [gf.constant(0, dtype="int64"), s0])
        return s
    verify_grad(f, [rng.standard_normal(3), rng.standard_normal(3)])

    def g(x):  # the trip count depends on the values: 3 doublings, capped
        return gf.while_loop(lambda s: s.sum() < 1e9, lambda s: s * s + 1.0, x, maximum_iterations=3)
    verify_grad(g, [np.abs(rng.standard_normal(3)) * 0.5], optimize="O2")


def test_while_loop_errors_name_the_loop():
    x = gf.placeholder((3,))
    with pytest.raises(gf.GraphError, match=r"while_loop `grow` \(made at .*test_while_cond.py:\d+\).*output 0"):
        gf.while_loop(lambda s: s.sum() < 9.0, lambda s: gf.concatenate([s, s]), x, name="grow")
    with pytest.raises(gf.GraphError, match="boolean scalar"):
        gf.while_loop(lambda s: s.sum(), lambda s: s, x)


def test_cond_runs_only_the_chosen_branch():
    x = gf.placeholder((None,), name="x")
    n = gf.placeholder((), "int64", name="n")
    # indexing past the end fails at run time: only the taken branch may index
    y = gf.cond(n > 0, lambda: x[4:5] * 2.0, lambda: x[0:1] * 3.0)
    f = gf.function([x, n], y)
    np.testing.assert_allclose(f(np.arange(6, dtype="float32"), 1), [8.0])
    np.testing.assert_allclose(f(np.arange(1, dtype="float32"), 0), [0.0])
    a, b = gf.cond(n > 0, lambda: (x * 2.0, x.sum()), lambda: (x * 3.0, x.max()))
    ga, gb = gf.function([x, n], [a, b])(np.array([1, 2], "float32"), 0)
    np.testing.assert_allclose(ga, [3, 6])
    assert float(gb) == 2.0


def test_cond_gradients_both_branches():
    rng = np.random.default_rng(1)

    def c(x, w):
        return gf.cond(x.sum() > 0, lambda: gf.tanh(x * w), lambda: x * x * w)
    verify_grad(c, [np.abs(rng.standard_normal(3)), rng.standard_normal(3)])
    verify_grad(c, [-np.abs(rng.standard_normal(3)), rng.standard_normal(3)])


def test_nesting_cond_in_scan_and_scan_in_cond():
    rng = np.random.default_rng(2)

    def cs(x, h0):
        return gf.scan(lambda xt, h: gf.cond(xt.sum() > 0, lambda: h * xt, lambda: h + xt),
                       sequences=x, outputs_info=h0)
    verify_grad(cs, [rng.standard_normal((5, 3)), rng.standard_normal(3)])

    def sc(x, h0):
        return gf.cond(h0.sum() > 0,
                       lambda: gf.scan(lambda xt, h: gf.tanh(h * xt), sequences=x, outputs_info=h0)[-1],
                       lambda: h0 * 2.0)
    verify_grad(sc, [rng.standard_normal((5, 3)), np.abs(rng.standard_normal(3))])
    verify_grad(sc, [rng.standard_normal((5, 3)), -np.abs(rng.standard_normal(3))])


def test_cond_branches_must_agree():
    x = gf.placeholder((3,))
    p = gf.placeholder((), "bool")
    with pytest.raises(gf.GraphError, match=r"cond `pick` \(made at .*test_while_cond.py:\d+\).*output 0.*float32.*int32"):
        gf.cond(p, lambda: x, lambda: gf.cast(x, "int32"), name="pick")
    with pytest.raises(gf.GraphError, match="true_fn returns 2 values, false_fn returns 1"):
        gf.cond(p, lambda: (x, x), lambda: x)
    merged = gf.cond(p, lambda: x, lambda: gf.concatenate([x, x]))
    assert merged.shape == (None,)  # the branches disagree on the length: unknown


def _w(x, s0):
    _, s = gf.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, gf.tanh(s * x)),
                         [gf.constant(0, dtype="int64"), s0])
    return s


def test_a_differentiated_while_loop_runs_once():
    x, s0 = gf.placeholder((3,)), gf.placeholder((3,))
    s = _w(x, s0)
    outs = [s] + gf.grad(s.sum(), [x, s0])
    f, f0 = gf.function([x, s0], outs), gf.function([x, s0], outs, optimize="O0")
    loops = [n.op.label() for n in f.program.schedule if n.op.bodies()]
    assert sorted(loops) == ["while_loop `while_grad` ×T, reverse", "while_loop `while` ×T"]
    assert len([n for n in f0.program.schedule if n.op.bodies()]) == 3  # as written: twice forward
    assert f.program.report.fired()["loops run once for their gradient"] == 1
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(3).astype("float32"), rng.standard_normal(3).astype("float32")
    for got, ref in zip(f(a, b), f0(a, b)):
        np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_while_loop_second_order():
    rng = np.random.default_rng(4)
    verify_grad(lambda x, s0: gf.gradients([_w(x, s0).sum()], [s0])[0],
                [rng.standard_normal(3), rng.standard_normal(3)], optimize="O2")
