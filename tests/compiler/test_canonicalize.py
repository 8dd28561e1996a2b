"""Canonicalisation: each rewrite fires, leaves the expected schedule and computes the
same numbers as the unoptimised graph."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.graph import Constant
from graphflow.ops import shape as sh

from compiler_helpers import check, compile_both, fired, kernels

X = [(None, 3)]
XY = [(None, 3), (None, 3)]

CASES = [  # rule, build, shapes, kernels after
    ("mul(x, 1)", lambda x: x * 1, X, []),
    ("div(x, 1)", lambda x: x / 1, X, []),
    ("add(x, 0)", lambda x: x + 0, X, []),
    ("sub(x, 0)", lambda x: x - 0, X, []),
    ("pow(x, 1)", lambda x: x ** 1, X, []),
    ("mul(x, -1)", lambda x: x * -1, X, ["neg"]),
    ("sub(0, x)", lambda x: 0 - x, X, ["neg"]),
    ("neg(neg(x))", lambda x: -(-x), X, []),
    ("pow(x, 2)", lambda x: x ** 2, X, ["square"]),
    ("mul(x, x)", lambda x: x * x, X, ["square"]),
    ("add(x, neg(y))", lambda x, y: x + (-y), XY, ["sub"]),
    ("sub(x, neg(y))", lambda x, y: x - (-y), XY, ["add"]),
    ("abs(neg(x))", lambda x: gf.abs(-x), X, ["abs"]),
    ("abs(abs(x))", lambda x: gf.abs(gf.abs(x)), X, ["abs"]),
    ("constant_to_right", lambda x: 3.0 * gf.tanh(x), X, ["tanh", "mul"]),
    ("divide_by_constant", lambda x: x / 4.0, X, ["mul"]),
    ("subtract_constant", lambda x: gf.tanh(x) - 0.5, X, ["tanh", "add"]),
    ("combine_constants", lambda x: (x + 1.0) + 2.0, X, ["add"]),
    ("transpose_transpose", lambda x: gf.transpose(gf.transpose(x, (1, 0, 2)), (0, 2, 1)), [(2, 3, 4)],
     ["transpose"]),
    ("reshape_reshape", lambda x: gf.reshape(gf.reshape(x, (-1,)), (2, 6)), [(3, 4)], ["reshape"]),
    ("no_op_reshape", lambda x: sh.Reshape((3, 4))(gf.tanh(x)), [(3, 4)], ["tanh"]),
    ("like_its_own_shape", lambda x: gf.sum_like(gf.tanh(x) * 2.0, x), X, ["tanh", "mul"]),
    ("neutral_broadcast_like", lambda x: gf.tanh(x) * gf.broadcast_like(1.0, x), X, ["tanh"]),
    ("reshape_of_kept_sum", lambda x: gf.reshape(gf.sum(x, 0, keepdims=True), (3,)), [(4, 3)], ["sum"]),
    ("squeeze_expand_dims", lambda x: gf.squeeze(gf.expand_dims(gf.tanh(x), 1), 1), X, ["tanh"]),
]


@pytest.mark.parametrize("rule,build,shapes,after", CASES, ids=[c[0] for c in CASES])
def test_canonical_rewrite(rule, build, shapes, after):
    check(build, shapes, rule, after)


def test_pow_half_is_sqrt():
    check(lambda x: x ** 0.5, [(None, 3)], "pow(x, 0.5)", ["sqrt"], data=[np.full((2, 3), 2.25)])


def test_constants_move_right_and_combine_across_subtraction():
    f = check(lambda x: 2.0 * ((x - 1.0) + 4.0), X, "combine_constants", ["add", "mul"])
    (add,) = [n for n in f.program.schedule if n.op.op_name() == "add"]
    assert isinstance(add.inputs[1], Constant) and float(add.inputs[1].value) == 3.0


def test_division_by_constant_uses_the_reciprocal():
    f = check(lambda x: x / 8.0, X, "divide_by_constant", ["mul"])
    (mul,) = f.program.schedule
    assert float(mul.inputs[1].value) == 0.125


@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_times_zero_only_for_exact_dtypes(dtype):
    x = gf.placeholder((2, 3), dtype)
    _, f = compile_both([x], x * gf.constant(np.zeros((), dtype)))
    assert kernels(f) == [] and "times_zero" in fired(f)
    np.testing.assert_array_equal(f(np.ones((2, 3), dtype)), np.zeros((2, 3), dtype))


@pytest.mark.filterwarnings("ignore:invalid value")
def test_times_zero_keeps_floats_because_of_inf_and_nan():
    x = gf.placeholder((2, 3), "float64")
    f0, f1 = compile_both([x], x * 0.0)
    assert kernels(f1) == ["mul"]
    a = np.array([[np.inf, np.nan, 1], [0, -1, 2]])
    np.testing.assert_array_equal(f1(a), f0(a))


def test_identity_rewrite_never_drops_a_broadcast():
    x = gf.placeholder((None, 3), "float64")
    ones = gf.constant(np.ones((4, 3)))
    f0, f1 = compile_both([x], x * ones)  # widens x (1, 3) -> (4, 3): not an identity
    assert kernels(f1) == ["mul"]
    np.testing.assert_array_equal(f1(np.ones((1, 3))).shape, (4, 3))


def test_square_transpose_is_not_an_identity():
    x = gf.placeholder((3, 3), "float64")
    _, f = compile_both([x], gf.transpose(gf.transpose(x) * 2.0))
    a = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(f(a), a * 2.0)


def test_transpose_pair_to_identity_disappears():
    x = gf.placeholder((2, 3, 4), "float64")
    _, f = compile_both([x], gf.transpose(gf.transpose(x, (1, 2, 0)), (2, 0, 1)) * 2.0)
    assert kernels(f) == ["mul"]


def test_sum_like_kept_when_broadcast_cannot_be_ruled_out():
    x, y = gf.placeholder((None, 3), "float64"), gf.placeholder((None, 3), "float64")
    f0, f1 = compile_both([x, y], gf.sum_like(x * y, x))  # x may be (1, 3) while y is (4, 3)
    assert "sum_like" in kernels(f1)
    a, b = np.ones((1, 3)), np.ones((4, 3))
    np.testing.assert_array_equal(f1(a, b), f0(a, b))


def _gate_grads(z, *gs):
    """The gradient of splitting z into pieces along axis 1 (LSTM gates): getitem_grads."""
    from graphflow.ops.indexing import GetItemGrad
    keys = [((None, None, 1), (0, 2, 1)), ((None, None, 1), (2, 4, 1)), ((None, None, 1), (4, None, 1))]
    parts = [GetItemGrad(k)(g, z) for k, g in zip(keys, gs)]
    return parts[2] + parts[0] + parts[1]  # in any order


def test_getitem_grads_covering_an_axis_become_one_concatenate():
    f = check(lambda z, a, b, c: _gate_grads(z, a, b, c), [(None, 7), (None, 2), (None, 2), (None, 3)],
              "getitem_grads_to_concatenate", ["concatenate"])
    (cat,) = f.program.schedule
    assert cat.op.axis == 1


def test_getitem_grads_that_leave_a_gap_stay():
    from graphflow.ops.indexing import GetItemGrad
    z, a, b = (gf.placeholder(s, "float64") for s in ((None, 7), (None, 2), (None, 2)))
    out = GetItemGrad(((None, None, 1), (0, 2, 1)))(a, z) + GetItemGrad(((None, None, 1), (3, 5, 1)))(b, z)
    f = gf.function([z, a, b], out, optimize="O1")
    assert "getitem_grads_to_concatenate" not in fired(f)


def test_constant_rewrites_keep_overflow_and_underflow_as_written():
    """x / 1e-45 is 71362 for x = 1e-40, not inf (1/1e-45 overflows float32); (x * 1e-45) * inf
    is nan for a small x (the product underflows to 0 first), not x * inf: the rewrites that
    fold constants leave such chains alone, so O2 computes what O0 does."""
    import graphflow as gf
    x = gf.placeholder((4,), name="x")
    feed = np.array([1e-40, 1.0, -3.0, 0.0], np.float32)
    for expr in (x / np.float32(1e-45), (x * np.float32(1e-45)) * np.float32(np.inf),
                 (x * np.float32(1e30)) * np.float32(1e-30), x / np.float32(3e38)):
        o0 = gf.function([x], expr, optimize="O0")(feed)
        o2 = gf.function([x], expr, optimize="O2")(feed)
        np.testing.assert_allclose(o2, o0, rtol=1e-6)  # float32 rounding; inf and nan where O0 has them
    # an ordinary constant still becomes a multiply, and ordinary chains still combine
    f = gf.function([x], (x * 2.0) * 3.0 / 4.0, optimize="O2")
    np.testing.assert_allclose(f(feed), feed * 1.5, rtol=1e-6)
