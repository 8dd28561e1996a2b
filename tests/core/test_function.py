"""gf.function: calling conventions, outputs, updates (Theano semantics), feeds, variables."""
from __future__ import annotations

import numpy as np
import pytest

import graphflow as gf


# ---------------------------------------------------------------- calling conventions
def test_positional_and_named_calls(rng):
    x = gf.placeholder((None, 3), name="fn_x")
    with gf.name_scope("fnblock"):
        y = gf.placeholder((3,), name="y")
    f = gf.function([x, y], x * y)
    a, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    np.testing.assert_allclose(f(a, b), a * b)
    np.testing.assert_allclose(f(**{x.name: a, y.name: b}), a * b)
    assert y.name.startswith("fnblock/y")


def test_calling_errors_name_the_inputs():
    x, y = gf.placeholder((2,), name="ce_x"), gf.placeholder((2,), name="ce_y")
    f = gf.function([x, y], x + y)
    with pytest.raises(TypeError, match=r"takes 2 inputs \(ce_x, ce_y\), got 1"):
        f(np.ones(2))
    with pytest.raises(TypeError, match="no input named \\['zz'\\]"):
        f(ce_x=np.ones(2), zz=np.ones(2))
    with pytest.raises(TypeError, match="missing inputs \\['ce_y'\\]"):
        f(ce_x=np.ones(2))
    with pytest.raises(TypeError, match="either positionally or by name"):
        f(np.ones(2), ce_y=np.ones(2))


def test_single_output_is_an_array_a_list_gives_a_list():
    x = gf.placeholder((2,))
    one = gf.function([x], x * 2)(np.ones(2))
    assert isinstance(one, np.ndarray) and one.tolist() == [2, 2]
    many = gf.function([x], [x * 2])(np.ones(2))
    assert isinstance(many, list) and len(many) == 1
    pair = gf.function([x], (x, x + 1))(np.ones(2))
    assert isinstance(pair, list) and [p.tolist() for p in pair] == [[1, 1], [2, 2]]
    assert gf.function([], [])() == []


def test_outputs_may_be_sources_and_scalars():
    x = gf.placeholder(())
    w = gf.variable(np.array([1.0, 2.0]))
    c = gf.constant([3.0, 4.0], name="fn_const")
    xv, wv, cv = gf.function([x], [x, w, c])(np.float32(5))
    assert xv.shape == () and xv == 5 and wv.tolist() == [1, 2] and cv.tolist() == [3, 4]
    cv[0] = 99  # a copy: the constant is untouched
    assert c.value[0] == 3


def test_inputs_must_be_placeholders_and_cover_the_graph():
    x, y = gf.placeholder((2,), name="cov_x"), gf.placeholder((2,), name="cov_y")
    with pytest.raises(gf.GraphError, match="must be placeholders"):
        gf.function([x + 1], x)
    with pytest.raises(gf.GraphError, match="twice"):
        gf.function([x, x], x)
    with pytest.raises(gf.GraphError, match="placeholder `cov_y` .*not among the function's inputs"):
        gf.function([x], x + y)
    with pytest.raises(gf.GraphError, match="outputs must be tensors"):
        gf.function([x], [x, 3])
    with pytest.raises(ValueError, match="optimize must be one of"):
        gf.function([x], x, optimize="O9")


def test_unused_inputs_are_fine_and_checked():
    x, y = gf.placeholder((2,)), gf.placeholder((3,), name="unused_y")
    f = gf.function([x, y], x * 2)
    assert f(np.ones(2), np.ones(3)).tolist() == [2, 2]
    with pytest.raises(gf.FeedError, match="unused_y"):
        f(np.ones(2), np.ones(4))


def test_optimisation_levels_agree(rng):
    x = gf.placeholder((None, 4), "float64")
    y = gf.tanh(x * 1 + 0) * gf.exp(-x) + gf.log1p(x * x)
    a = rng.standard_normal((3, 4))
    ref = gf.function([x], y, optimize="O0")(a)
    for level in ("O1", "O2"):
        np.testing.assert_allclose(gf.function([x], y, optimize=level)(a), ref, rtol=1e-12)


# ---------------------------------------------------------------- updates
def test_updates_swap_uses_old_values():
    a = gf.variable(np.array([1.0, 2.0]), name="swap_a")
    b = gf.variable(np.array([3.0, 4.0]), name="swap_b")
    swap = gf.function([], [], updates=[(a, b), (b, a)])
    swap()
    assert a.get_value().tolist() == [3, 4] and b.get_value().tolist() == [1, 2]
    swap_dict = gf.function([], [a, b], updates={a: b, b: a})
    old_a, old_b = swap_dict()  # outputs are computed from the old values too
    assert old_a.tolist() == [3, 4] and old_b.tolist() == [1, 2]
    assert a.get_value().tolist() == [1, 2] and b.get_value().tolist() == [3, 4]


def test_counter_and_accumulator():
    x = gf.placeholder((2,))
    n = gf.variable(np.int64(0), name="calls")
    acc = gf.variable(np.zeros(2, np.float32), name="acc")
    f = gf.function([x], acc + x, updates=[(n, n + 1), (acc, acc + x)])
    outs = [f(np.array([1.0, 2.0])).tolist() for _ in range(3)]
    assert outs == [[1, 2], [2, 4], [3, 6]]
    assert n.get_value() == 3 and acc.get_value().tolist() == [3, 6]


def test_set_value_is_seen_by_compiled_functions():
    w = gf.variable(np.ones(2, np.float32))
    f = gf.function([], w * 2)
    assert f().tolist() == [2, 2]
    w.set_value([5.0, 6.0])
    assert f().tolist() == [10, 12]


def test_update_expressions_are_cast_or_refused():
    w = gf.variable(np.zeros(2, np.float32), name="upd_w")
    x64 = gf.placeholder((2,), "float64")
    gf.function([x64], [], updates=[(w, x64 * 2)])(np.array([1.0, 2.0]))
    assert w.get_value().dtype == np.float32 and w.get_value().tolist() == [2, 4]
    i = gf.variable(np.zeros(2, np.int32), name="upd_i")
    with pytest.raises(gf.GraphError, match="update of `upd_i` \\(int32\\) has dtype float32"):
        gf.function([], [], updates=[(i, gf.constant([1.5, 2.5]))])
    with pytest.raises(gf.GraphError, match=r"update of `upd_w` \(2,\) has shape \(3,\)"):
        gf.function([], [], updates=[(w, gf.constant([1.0, 2.0, 3.0]))])
    with pytest.raises(gf.GraphError, match="only variables can be updated"):
        gf.function([x64], [], updates=[(x64, x64)])
    with pytest.raises(gf.GraphError, match="updated twice"):
        gf.function([], [], updates=[(w, w), (w, w + 1)])
    with pytest.raises(gf.GraphError, match="pairs"):
        gf.function([], [], updates=[w])


def test_an_update_with_the_wrong_run_time_shape_changes_nothing():
    x = gf.placeholder((None, 2), "float64")
    a = gf.variable(np.zeros((2, 2)), name="rt_a")
    b = gf.variable(np.zeros(2), name="rt_b")
    f = gf.function([x], x.sum(), updates=[(b, b + 1), (a, x * 2)])
    f(np.ones((2, 2)))
    with pytest.raises(gf.FeedError, match=r"update of variable `rt_a` \(2, 2\) computed shape \(3, 2\)"):
        f(np.ones((3, 2)))
    assert a.get_value().tolist() == [[2, 2], [2, 2]] and b.get_value().tolist() == [1, 1]


def test_returned_arrays_never_alias_state(rng):
    w = gf.variable(np.arange(4.0).reshape(2, 2), name="alias_w")
    x = gf.placeholder((2, 2), "float64")
    outs = gf.function([x], [w, w.T, w.reshape(4), gf.sum_like(w, w), x, x.T])(np.ones((2, 2)))
    for o in outs:
        o += 100
    assert w.get_value().tolist() == [[0, 1], [2, 3]]
    fed = rng.standard_normal((2, 2))
    back = gf.function([x], x)(fed)
    back[0, 0] = 42.0
    assert fed[0, 0] != 42.0


def test_outputs_of_successive_calls_are_independent(rng):
    """Planned buffers are reused between calls; arrays already returned must not change."""
    x = gf.placeholder((None, 3), "float64")
    f = gf.function([x], [gf.tanh(x * 2 + 1) * 3, (x * x).sum(axis=1), gf.exp(x).T])
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    first = f(a)
    snapshot = [o.copy() for o in first]
    f(b)
    for o, s in zip(first, snapshot):
        np.testing.assert_array_equal(o, s)


def test_call_on_device_and_repr():
    x = gf.placeholder((2,))
    f = gf.function([x], [x + 1, x * 2], updates=[(gf.variable(0.0), gf.constant(1.0))])
    outs = f.call_on_device(np.ones(2))
    assert isinstance(outs, list) and outs[0].tolist() == [2, 2]
    assert "2 outputs, 1 updates" in repr(f) and "numpy" in repr(f)
    assert f.graph.schedule and f.graph.outputs


# ---------------------------------------------------------------- feeds
def test_float64_is_cast_to_float32_and_ints_to_floats():
    x = gf.placeholder((None, 2))
    f = gf.function([x], x * 1)
    for v in (np.ones((1, 2), np.float64), np.ones((3, 2), np.int64), [[True, False]], [[1.5, 2]]):
        out = f(v)
        assert out.dtype == np.float32 and out.shape == np.shape(v)


@pytest.mark.parametrize("value, message", [
    (np.ones((2, 4)), r"placeholder `feed_x` expects shape \(\?, 3\); got \(2, 4\)"),
    (np.ones(3), r"expects shape \(\?, 3\); got \(3,\)"),
    (np.array([["a", "b", "c"]]), "expects float32 numbers; got ndarray of dtype <U1"),
    ([[1, 2, "c"]], "expects float32 numbers"),
    (None, "expects float32 numbers; got NoneType"),
    ([[1, 2], [3]], "expects float32"),
    (np.ones((1, 3), np.complex64), r"expects float32; got complex64 \(a lossy conversion"),
    ({"a": 1}, "expects float32 numbers"),
])
def test_wrong_feeds_name_the_placeholder(value, message):
    x = gf.placeholder((None, 3), name="feed_x")
    f = gf.function([x], x * 2)
    with pytest.raises(gf.FeedError, match=message):
        f(value)


def test_integer_and_bool_placeholders_refuse_lossy_feeds():
    i = gf.placeholder((2,), "int32", name="feed_i")
    f = gf.function([i], i + 1)
    with pytest.raises(gf.FeedError, match="feed_i` expects int32; got float64 .*lossy"):
        f(np.array([1.5, 2.0]))
    assert f(np.array([1, 2], np.int64)).tolist() == [2, 3]  # values fit: cast
    with pytest.raises(gf.FeedError, match=r"int64 values in \[2, 1099511627776\]"):
        f(np.array([2 ** 40, 2]))
    u = gf.placeholder((2,), "uint8", name="feed_u")
    with pytest.raises(gf.FeedError, match="uint8 cannot hold"):
        gf.function([u], u)(np.array([-1, 3]))
    b = gf.placeholder((2,), "bool", name="feed_b")
    with pytest.raises(gf.FeedError, match="feed_b` expects bool"):
        gf.function([b], b)(np.array([0, 1]))


def test_known_dims_are_checked_unknown_ones_take_any_size():
    x = gf.placeholder((None, 2, None))
    f = gf.function([x], x.sum())
    for shape in [(1, 2, 1), (4, 2, 7), (0, 2, 3)]:
        assert f(np.ones(shape)) == np.prod(shape)
    with pytest.raises(gf.FeedError, match=r"\(\?, 2, \?\); got \(1, 3, 1\)"):
        f(np.ones((1, 3, 1)))
