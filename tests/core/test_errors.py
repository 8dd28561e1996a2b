"""Errors are for people: impossible graphs fail when built, naming the op, the input
types, the scope and the user's file:line; wrong feeds fail at call time naming the
placeholder and what was expected vs what came."""
from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import graphflow as gf

FILE = os.path.abspath(__file__)


def here() -> int:
    return inspect.currentframe().f_back.f_lineno


x = gf.placeholder((None, 3), name="err_x")
v = gf.placeholder((4,), name="err_v")
m = gf.placeholder((2, 3), name="err_m")
i8 = gf.placeholder((3,), "int8", name="err_i8")

CASES = [  # (builder, op named, fragments that must appear)
    (lambda: x + v, "add", ["shapes (?, 3), (4,) do not broadcast", "float32(?, 3), float32(4,)"]),
    (lambda: gf.where(x, x, x), "where", ["condition must be bool, got float32"]),
    (lambda: gf.sum(x, axis=2), "sum", ["axis 2 is out of range for a tensor of rank 2", "float32(?, 3)"]),
    (lambda: gf.mean(m, axis=(1, -1)), "mean", ["repeated axis", "float32(2, 3)"]),
    (lambda: m.reshape(4, 2), "reshape", ["cannot reshape (2, 3) (6 elements)"]),
    (lambda: x.reshape(5, 7), "reshape", ["not a multiple of 3"]),
    (lambda: gf.transpose(m, (1, 1)), "transpose", ["not a permutation"]),
    (lambda: gf.squeeze(m, 0), "squeeze", ["axis 0 has length 2, not 1"]),
    (lambda: gf.broadcast_to(v, (3, 5)), "broadcast_to", ["(4,)"]),
    (lambda: gf.clip(x, 1, 0), "clip", ["lo=1.0 > hi=0.0"]),
    (lambda: gf.cast(x, "str"), "cast", ["numbers or booleans"]),
    (lambda: i8 + 1000, "add", ["1000 does not fit the int8"]),
    (lambda: gf.expand_dims(x, 5), "expand_dims", ["out of range"]),
    (lambda: gf.argmax(m, 2), "argmax", ["out of range", "float32(2, 3)"]),
    (lambda: -gf.placeholder((2,), "bool"), "neg", ["bool"]),
]


@pytest.mark.parametrize("build, op, fragments", CASES, ids=[f"{c[1]}-{k}" for k, c in enumerate(CASES)])
def test_build_errors_name_op_inputs_and_user_line(build, op, fragments):
    with pytest.raises(gf.GraphError) as err:
        build()
    msg = str(err.value)
    assert msg.startswith(op), msg
    assert f"made at {FILE}:{build.__code__.co_firstlineno}" in msg  # the user's line, not ours
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


def test_build_errors_name_the_scope():
    with gf.name_scope("block1"):
        with gf.name_scope("conv"):
            with pytest.raises(gf.GraphError) as err:
                line = here(); x * v  # noqa: E702
    assert str(err.value).startswith(f"mul in scope `block1/conv`, made at {FILE}:{line}: ")


def test_errors_from_user_helpers_point_at_the_users_line():
    def layer(t):
        return t + v  # the op is made here, in the user's own helper

    line = here() - 2
    with pytest.raises(gf.GraphError, match=f"made at {FILE}:{line}"):
        layer(x)


def test_graph_errors_are_value_errors():
    assert issubclass(gf.GraphError, ValueError) and issubclass(gf.FeedError, ValueError)
    assert issubclass(gf.NonDifferentiableError, TypeError)


@pytest.mark.parametrize("make", [
    lambda: gf.constant("text"), lambda: gf.variable(["a", "b"]), lambda: gf.constant(None),
    lambda: gf.variable([[1, 2], [3]]), lambda: gf.constant({"a": 1}),
    lambda: gf.placeholder((2,), "object"), lambda: gf.placeholder((2, -3)),
])
def test_non_numeric_sources_are_refused(make):
    with pytest.raises(gf.GraphError):
        make()


def test_feed_errors_say_what_was_expected_and_what_came():
    f = gf.function([x], x * 2)
    with pytest.raises(gf.FeedError) as err:
        f(np.ones((2, 4)))
    assert str(err.value) == "placeholder `err_x` expects shape (?, 3); got (2, 4)"
    with pytest.raises(gf.FeedError, match="placeholder `err_x` expects float32 numbers; got str"):
        f("abc")


def test_symbolic_tensors_explain_misuse():
    with pytest.raises(TypeError, match="gf.where"):
        if x > 0:
            pass
