"""The IR: types, tensors, sources, hash-consed nodes (CSE), scopes, sites, traversal."""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from typing import ClassVar

import networkx as nx
import numpy as np
import pytest

import graphflow as gf
from graphflow.graph import Node, Op, TensorType, broadcast_shapes, sources, toposort
from graphflow.ops import elementwise as ew
from graphflow.ops import reductions as red
from graphflow.ops import shape as sh


def here() -> int:
    return inspect.currentframe().f_back.f_lineno


# ---------------------------------------------------------------- types
def test_tensor_type_normalises_dtype_and_shape():
    t = TensorType(np.float32, [None, 3])
    assert t.dtype == "float32" and t.shape == (None, 3) and t.ndim == 2
    assert t.size is None and TensorType("int8", (2, 3)).size == 6
    assert str(t) == "float32(?, 3)"
    assert t.accepts((5, 3)) and not t.accepts((5, 4)) and not t.accepts((3,))
    assert TensorType("float32", (2,)) == TensorType(np.dtype("float32"), (2,))


@pytest.mark.parametrize("dtype", ["object", "str", "datetime64[s]", "not-a-dtype"])
def test_tensor_type_refuses_non_numbers(dtype):
    with pytest.raises(TypeError):
        TensorType(dtype, (2,))


def test_tensor_type_refuses_negative_dims():
    with pytest.raises(ValueError, match="shape entries"):
        TensorType("float32", (2, -1))


@pytest.mark.parametrize("shapes, expected", [
    (((None, 3), (3,)), (None, 3)),
    (((None, 1), (1, 4)), (None, 4)),
    (((None,), (5,)), (5,)),
    (((2, None), (None, 3)), (2, 3)),
    (((4, 1, 3), (None, 3)), (4, None, 3)),
    (((), (2, 2)), (2, 2)),
    (((1,), (None,)), (None,)),
])
def test_broadcast_shapes_with_unknown_dims(shapes, expected):
    assert broadcast_shapes(*shapes) == expected


def test_broadcast_shapes_refuses_known_mismatch():
    with pytest.raises(ValueError, match=r"\(2, 3\), \(4,\) do not broadcast"):
        broadcast_shapes((2, 3), (4,))


# ---------------------------------------------------------------- tensors and sources
def test_tensor_static_facts():
    x = gf.placeholder((None, 3), name="facts_x")
    assert x.shape == (None, 3) and x.dtype == "float32" and x.ndim == 2 and x.name == "facts_x"
    y = x + 1
    assert y.node.op == ew.Add() and y.node.inputs[0] is x and y.index == 0
    assert repr(y).startswith("<Tensor add") and "float32(?, 3)" in repr(y)


def test_tensor_is_a_dict_key_and_has_no_truth_value():
    x = gf.placeholder((2,))
    assert {x: 1}[x] == 1 and x == x and not (x == gf.placeholder((2,)))
    with pytest.raises(TypeError, match="truth value"):
        bool(x > 0)
    with pytest.raises(TypeError, match="iterated"):
        list(x)
    assert len(x) == 2
    with pytest.raises(TypeError, match="not known statically"):
        len(gf.placeholder((None, 2)))


def test_placeholder_defaults_and_dtype():
    p = gf.placeholder((2, None), "int32")
    assert p.dtype == "int32" and p.shape == (2, None) and p.name.startswith("placeholder")
    assert gf.placeholder(()).dtype == "float32"


def test_variable_value_semantics():
    arr = np.arange(6.0).reshape(2, 3)
    w = gf.variable(arr, name="vs_w")
    arr[0, 0] = 100  # the variable copied its value
    v = w.get_value()
    assert v[0, 0] == 0 and v.dtype == np.float64 and w.trainable
    v[0, 1] = 50  # get_value is a copy too
    assert w.get_value()[0, 1] == 1
    w.set_value(np.ones((2, 3), np.float32))  # float32 -> float64: same kind, cast
    assert w.get_value().dtype == np.float64 and w.get_value().sum() == 6


@pytest.mark.parametrize("value, dtype, expected", [
    ([1.0, 2.0], None, "float32"),            # Python floats default to float32 (Keras)
    (1.5, None, "float32"),
    ([1, 2], None, "int64"),
    (np.zeros(2, np.float64), None, "float64"),  # NumPy arrays keep their dtype
    (np.float64(1.0), None, "float64"),
    ([1, 2], "float16", "float16"),
    (True, None, "bool"),
])
def test_variable_and_constant_dtypes(value, dtype, expected):
    assert gf.variable(value, dtype=dtype).dtype == expected
    assert gf.constant(value, dtype=dtype).dtype == expected


def test_set_value_refusals_keep_the_old_value():
    w = gf.variable(np.zeros((2, 2), np.float32), name="keep_w")
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*got shape \(3, 2\)"):
        w.set_value(np.ones((3, 2)))
    with pytest.raises(TypeError, match="float32.*int|does not cast"):
        gf.variable(np.zeros(2, np.int32)).set_value(np.ones(2, np.float32))
    with pytest.raises(TypeError, match="does not cast"):
        w.set_value(np.array([["a", "b"], ["c", "d"]]))
    assert w.get_value().sum() == 0 and w.get_value().dtype == np.float32


def test_non_trainable_variable():
    assert gf.variable(np.zeros(2), trainable=False).trainable is False


def test_constant_is_read_only_and_small_ones_are_shared():
    c = gf.constant([1.0, 2.0])
    assert not c.value.flags.writeable
    assert gf.constant([1.0, 2.0]) is c            # equal small unnamed constants are one node
    assert gf.constant([1.0, 2.0], dtype="float64") is not c
    big = np.zeros(1000)
    assert gf.constant(big) is not gf.constant(big)  # large ones are not looked up by value
    assert gf.constant([1.0, 2.0], name="named") is not c


# ---------------------------------------------------------------- hash-consing (CSE)
def test_same_expression_twice_is_the_same_node():
    x = gf.placeholder((None, 3))
    y = gf.placeholder((None, 3))
    a = gf.tanh(x * 2 + y).sum(axis=1)
    b = gf.tanh(x * 2 + y).sum(axis=1)
    assert a is b and a.node is b.node
    assert (x + y) is gf.add(x, y)
    assert (x + y) is not (y + x)            # no algebra here: that is the compiler's job
    assert x.sum(axis=0) is not x.sum(axis=1)  # op parameters are part of the identity
    assert x.sum(axis=0) is not x.sum(axis=0, keepdims=True)


def test_sources_are_never_merged():
    assert gf.placeholder((2,)) is not gf.placeholder((2,))
    v1, v2 = gf.variable(np.zeros(2)), gf.variable(np.zeros(2))
    assert v1 is not v2 and (v1 + 1) is not (v2 + 1)


@dataclass(frozen=True)
class Noise(Op):
    """y = x + fresh noise (test-local random op; never run)"""
    random: ClassVar[bool] = True

    def infer(self, x):
        return x


@dataclass(frozen=True)
class Split2(Op):
    """two outputs: x and -x (test-local)"""

    def infer(self, x):
        return [x, x]


def test_random_ops_are_never_merged():
    x = gf.placeholder((3,))
    a, b = Noise()(x), Noise()(x)
    assert a is not b and a.node is not b.node
    assert Noise() == Noise()  # equal ops, yet distinct nodes


def test_op_call_returns_one_tensor_or_a_list():
    x = gf.placeholder((3,))
    outs = Split2()(x)
    assert isinstance(outs, list) and len(outs) == 2 and outs[1].index == 1
    assert outs[1].name.endswith(":1")
    assert isinstance(Noise()(x), gf.Tensor)


def test_op_naming_and_labels():
    assert ew.FloorDiv.op_name() == "floordiv" and red.ArgMax.op_name() == "argmax"
    assert ew.LogicalAnd.op_name() == "logical_and" and sh.ExpandDims.op_name() == "expand_dims"
    assert red.Sum((0,), True).label() == "sum axis=(0,) keep"
    assert ew.Clip(0.0, 1.0).params() == {"lo": 0.0, "hi": 1.0}
    with pytest.raises(gf.NonDifferentiableError, match="noise has no gradient"):
        Noise().grad([], [], [])


def test_apply_refuses_non_tensors():
    with pytest.raises(gf.GraphError, match="input 1 must be a graphflow Tensor, got ndarray"):
        ew.Add()(gf.placeholder((2,)), np.ones(2))


# ---------------------------------------------------------------- scopes and sites
def test_name_scopes_nest_node_names():
    x = gf.placeholder((2,), name="scope_x")
    with gf.name_scope("block1") as s1:
        with gf.name_scope("conv") as s2:
            y = x * 3
            p = gf.placeholder((2,), name="inp")
        z = y + 1
    assert (s1, s2) == ("block1", "block1/conv")
    assert y.name.startswith("block1/conv/mul") and y.node.scope == "block1/conv"
    assert p.name.startswith("block1/conv/inp")
    assert z.name.startswith("block1/add") and z.node.scope == "block1"
    assert (x - 1).node.scope == ""


def test_names_are_unique():
    x = gf.placeholder((2,))
    with gf.name_scope("uniq"):
        names = {(x * k).name for k in (2.0, 3.0, 4.0)}
    assert len(names) == 3 and all(n.startswith("uniq/mul") for n in names)


@pytest.mark.parametrize("bad", ["a b", "", "x/y", 3])
def test_bad_scope_names(bad):
    with pytest.raises(ValueError, match="scope name"):
        with gf.name_scope(bad):
            pass


def test_nodes_record_the_users_file_and_line():
    x = gf.placeholder((2,))
    line = here(); y = gf.exp(x)  # noqa: E702
    assert y.node.site == f"{os.path.abspath(__file__)}:{line}"
    with gf.name_scope("site"):
        line = here(); z = x.sum()  # noqa: E702  (via a Tensor method: still this line)
    assert z.node.where() == f"sum in scope `site`, made at {os.path.abspath(__file__)}:{line}"
    assert gf.placeholder((1,)).site.startswith(os.path.abspath(__file__) + ":")


# ---------------------------------------------------------------- traversal
def test_toposort_puts_inputs_before_users():
    x = gf.placeholder((3,))
    a = gf.exp(x)
    b = a * x
    c = b + a
    order = toposort([c])
    assert [n.op for n in order] == [ew.Exp(), ew.Mul(), ew.Add()]
    pos = {n: i for i, n in enumerate(order)}
    for n in order:
        for t in n.inputs:
            assert t.node is None or pos[t.node] < pos[n]
    assert all(isinstance(n, Node) for n in order)


def test_toposort_handles_deep_graphs():
    x = gf.placeholder((1,))
    y = x
    for _ in range(3000):
        y = gf.tanh(y)
    assert len(toposort([y])) == 3000


def test_sources_in_first_use_order():
    x, w = gf.placeholder((2,), name="src_x"), gf.variable(np.ones(2, np.float32), name="src_w")
    y = (x * w + 2.5).sum()
    names = [s.name for s in sources([y])]
    assert names[:2] == ["src_x", "src_w"] and len(names) == 3


def test_to_networkx_exports_ops_sources_and_edges():
    x = gf.placeholder((None, 3), name="nx_x")
    w = gf.variable(np.ones(3, np.float32), name="nx_w")
    with gf.name_scope("nxblock"):
        y = gf.relu(x * w).sum(axis=1)
    g = gf.to_networkx(y)
    assert isinstance(g, nx.DiGraph) and nx.is_directed_acyclic_graph(g)
    assert g.nodes["nx_x"]["kind"] == "placeholder" and g.nodes["nx_w"]["kind"] == "variable"
    assert g.nodes["nx_x"]["shape"] == (None, 3)
    ops = {n: d for n, d in g.nodes(data=True) if d["kind"] == "op"}
    assert sorted(d["op"] for d in ops.values()) == ["mul", "relu", "sum"]
    assert all(d["scope"] == "nxblock" for d in ops.values())
    mul = next(n for n, d in ops.items() if d["op"] == "mul")
    assert g.edges["nx_w", mul] == {"index": 1, "shape": (3,), "dtype": "float32"}
    assert nx.dag_longest_path_length(g) == 3
    assert set(gf.to_networkx([y, x]).nodes) == set(g.nodes)


def test_indexing_and_matmul_operators(rng):
    """``x[...]`` and ``@`` reach the indexing and linalg ops through Tensor's overloads."""
    x = gf.placeholder((None, 4), "float64")
    w = gf.placeholder((4, 2), "float64")
    outs = [x[0], x[:, 1:3], x[-1, ::2], x @ w, np.ones((3, 4)) @ w]
    assert [o.shape for o in outs] == [(4,), (None, 2), (2,), (None, 2), (3, 2)]
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    got = gf.function([x, w], outs)(a, b)
    for g, ref in zip(got, [a[0], a[:, 1:3], a[-1, ::2], a @ b, np.ones((3, 4)) @ b]):
        np.testing.assert_allclose(g, ref, rtol=1e-12)
