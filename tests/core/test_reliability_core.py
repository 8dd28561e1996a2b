"""Defects the review found, each with the test that failed before its fix: outputs that
alias state, calls from two threads, updates that apply half, and ``check_numerics``."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import graphflow as gf
from graphflow.runtime.numerics import NumericsError


# ---------------------------------------------------------------- aliasing
@pytest.mark.parametrize("optimize", ["O0", "O2"])
def test_an_output_that_is_also_an_update_does_not_alias_the_variable(optimize):
    w = gf.variable(np.zeros(3, np.float32))
    nw = w + 1
    f = gf.function([], nw, updates=[(w, nw)], optimize=optimize)
    out = f()
    out[...] = 100
    np.testing.assert_array_equal(w.get_value(), [1, 1, 1])
    np.testing.assert_array_equal(f(), [2, 2, 2])


def test_outputs_never_share_memory_with_each_other_feeds_or_state():
    w = gf.variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    x = gf.placeholder((None, 3))
    y = x * 2.0
    outs = gf.function([x], [y, y, gf.reshape(y, (-1,)), x, gf.transpose(w), w])(np.ones((2, 3), np.float32))
    for i, a in enumerate(outs):
        for b in outs[i + 1:]:
            assert not np.shares_memory(a, b)
    outs[3][...] = 7           # the returned feed is a copy
    outs[5][...] = 7           # the returned variable is a copy
    np.testing.assert_array_equal(w.get_value(), np.arange(6).reshape(2, 3))
    assert all(o.flags.writeable for o in outs)


# ---------------------------------------------------------------- threads
def test_two_threads_calling_one_function_both_get_correct_results():
    x = gf.placeholder((None, 64), "float64")
    y = gf.sum(gf.tanh(x * 2.0) * gf.exp(-x) + 1.0, axis=1)
    f = gf.function([x], y)
    data = [np.random.default_rng(i).normal(size=(200, 64)) for i in range(2)]
    expect = [np.sum(np.tanh(d * 2) * np.exp(-d) + 1, axis=1) for d in data]
    errors = []

    def work(k):
        try:
            for _ in range(60):
                np.testing.assert_allclose(f(data[k]), expect[k], rtol=1e-12)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert all(sig.made <= 2 for sig in f.executor._signatures.values())


def test_concurrent_training_steps_apply_whole_updates():
    a = gf.variable(np.float64(0.0))
    b = gf.variable(np.float64(0.0))
    step = gf.function([], a + b, updates=[(a, a + 1.0), (b, b - 1.0)])
    seen = []

    def work():
        for _ in range(300):
            seen.append(float(step()))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert a.get_value() == 900 and b.get_value() == -900  # no step lost
    assert set(seen) == {0.0}  # every step read a + b from one moment: never half a step


# ---------------------------------------------------------------- numerics
def test_check_numerics_names_the_first_bad_node_and_where():
    x = gf.placeholder((None, 3))
    with gf.name_scope("loss"):
        y = gf.log(x)                     # the first non-finite value appears here
    z = gf.exp(y) * 2.0
    f = gf.function([x], z, check_numerics=True)
    np.testing.assert_allclose(f(np.ones((2, 3), np.float32)), 2.0)
    with pytest.raises(NumericsError) as err:
        f(np.array([[1, -1, 0]], np.float32))
    msg = str(err.value)
    assert "log in scope `loss`" in msg and f"test_reliability_core.py:{y.node.site.rsplit(':', 1)[1]}" in msg
    assert "1 NaN and 1 Inf (of 3 values)" in msg and "this op made the non-finite values" in msg


def test_check_numerics_says_which_input_was_already_bad(monkeypatch):
    w = gf.variable(np.array([1.0, np.nan], np.float32), name="w")
    monkeypatch.setenv("GRAPHFLOW_CHECK_NUMERICS", "1")
    f = gf.function([], gf.sum(w * 2.0))
    with pytest.raises(NumericsError, match=r"input 0 \(variable `w`\) already held 1 NaN"):
        f()


def test_check_numerics_off_costs_nothing_and_changes_nothing():
    x = gf.placeholder((None,))
    f = gf.function([x], gf.log(x))
    assert f.check_numerics is False
    with np.errstate(all="ignore"):
        out = f(np.array([-1.0, 0.0], np.float32))
    assert np.isnan(out[0]) and np.isinf(out[1])


def test_a_plan_too_big_for_memory_says_which_node_needs_it():
    x = gf.placeholder((None,), "float32")
    huge = gf.broadcast_to(gf.reshape(x, (1, -1)), (2**21, 2**20))
    with gf.name_scope("blowup"):
        y = gf.tanh(huge) * 2.0
    f = gf.function([x], gf.sum(y))
    with pytest.raises(MemoryError, match=r"need [\d,]+ bytes; the largest value, [\d,]+ bytes, is made by .*blowup"):
        f(np.ones(2**20, np.float32))
