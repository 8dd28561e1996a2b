"""The rewrite engine: declared rewrites, pattern objects, the fixed-point driver and its
cap, type checks, strict versus forgiving failures (visible in warnings and the report),
and provenance of replacement nodes."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.compiler import Context, RewriteError, RewriteGroup, graph_rewrite, substitute
from graphflow.compiler import CompilerWarning, Const, Pat, Var, floating
from graphflow.compiler.patterns import match
from graphflow.graph import toposort
from graphflow.ops import elementwise as ew


def _run(group, outputs, strict=True):
    ctx = Context(strict=strict)
    return graph_rewrite(outputs, group, ctx, len(toposort(outputs))), ctx


def test_pattern_objects_match_with_predicates():
    x = Var("x")
    tree = Pat(ew.Sub, x, x)
    a, b = gf.placeholder((3,)), gf.placeholder((3,))
    assert match(tree, (a - a), {}) and not match(tree, (a - b), {})
    one = Pat(ew.Mul, x, 1)
    assert repr(one) == "mul(x, 1)" and one.args[1] == Const(1.0)
    assert match(one, a * gf.constant(np.ones((1, 3), "float32")), {})
    assert not match(one, a * gf.constant(np.array([1, 2, 1], "float32")), {})
    xf = Var("x", where=floating)
    i = gf.placeholder((3,), "int32")
    assert match(Pat(ew.Neg, xf), -a, {}) and not match(Pat(ew.Neg, xf), -i, {})
    assert not match(Pat(ew.Neg, x, where=lambda node: False), -a, {})
    with pytest.raises(TypeError, match="op class"):
        Pat("mul", x)
    group = RewriteGroup("t")
    with pytest.raises(TypeError, match="must match an op application"):
        group.pattern(x, lambda x: x)


def test_driver_reaches_a_fixed_point_through_chained_rewrites():
    group = RewriteGroup("test")
    v = Var("x")
    group.pattern(Pat(ew.Tanh, Pat(ew.Neg, v)), lambda x: -gf.tanh(x))   # tanh(-x) = -tanh(x)
    group.pattern(Pat(ew.Neg, Pat(ew.Neg, v)), lambda x: x)              # --x = x
    x = gf.placeholder((None, 2))
    (out,), ctx = _run(group, [gf.tanh(-gf.tanh(-x))])
    assert out.node.op == ew.Tanh() and out.node.inputs[0].node.op == ew.Tanh()
    assert ctx.fired == {"tanh(neg(x))": 1, "neg(neg(x))": 1}  # tanh(-(-tanh(x))) -> tanh(tanh(x))
    rule = next(r for r in group.rules if r.name == "neg(neg(x))")
    assert rule.where.endswith(f"test_engine.py:{test_driver_reaches_a_fixed_point_through_chained_rewrites.__code__.co_firstlineno + 4}")


def test_cap_stops_two_rewrites_undoing_each_other():
    group = RewriteGroup("pingpong")
    group.pattern(Pat(ew.Mul, Var("x"), Var("y")), lambda x, y: y * x)   # commutes forever
    x, y = gf.placeholder((2,)), gf.placeholder((2,))
    with pytest.raises(RewriteError, match="cap"):
        _run(group, [x * y])
    with pytest.warns(CompilerWarning, match="cap"):
        (out,), _ = _run(group, [x * y], strict=False)
    assert isinstance(out.node.op, ew.Mul)


def test_wrong_type_replacement_is_a_bug():
    group = RewriteGroup("bad")

    @group.rewrite(ew.Tanh)
    def tanh_to_sum(node, ctx):
        return gf.sum(node.inputs[0])

    x = gf.placeholder((2, 3))
    with pytest.raises(RewriteError, match=r"tanh_to_sum.*replaced float32\(2, 3\) by float32\(\)"):
        _run(group, [gf.tanh(x)])


def test_raising_rewrite_is_skipped_but_visible_when_not_strict(monkeypatch, capsys):
    from graphflow.compiler import CANONICALIZE

    @CANONICALIZE.rewrite(ew.Tanh, name="broken_for_test")
    def broken(node, ctx):
        raise ZeroDivisionError("oops")

    try:
        x = gf.placeholder((None, 2), "float64")
        with pytest.raises(RewriteError, match="broken_for_test.*oops"):
            gf.function([x], gf.tanh(x))
        monkeypatch.delenv("GRAPHFLOW_STRICT_REWRITES")
        with pytest.warns(CompilerWarning, match="broken_for_test") as record:
            f = gf.function([x], [gf.tanh(x), gf.tanh(x * 2.0)])
        (w,) = [w for w in record if "broken_for_test" in str(w.message)]  # once per compile
        text = str(w.message)
        assert "declared at tests/compiler/test_engine.py:" in text and "ZeroDivisionError: oops" in text
        assert "Traceback" in text and f"{__file__.rsplit('/', 1)[1]}" in text  # the user's line too
        np.testing.assert_allclose(f(np.ones((1, 2)))[1], np.tanh([[2.0, 2.0]]))
        f.report()
        report = capsys.readouterr().out
        assert "FAILED rule `broken_for_test`" in report and "ZeroDivisionError: oops" in report
        with pytest.warns(CompilerWarning, match="broken_for_test"):  # visible again in the next compile
            gf.function([x], gf.tanh(x + 1.0))
    finally:
        CANONICALIZE.rules = [r for r in CANONICALIZE.rules if r.name != "broken_for_test"]
        CANONICALIZE._by_type.clear()


def test_replacement_nodes_keep_the_users_site_and_scope():
    x = gf.placeholder((None, 3), "float64")
    with gf.name_scope("block"):
        y = gf.tanh(x) / 4.0                # canonicalised to tanh(x) * 0.25
    line = y.node.site
    f = gf.function([x], y, optimize="O1")
    (tanh, mul) = f.program.schedule
    assert mul.op.op_name() == "mul" and mul.site == line and mul.scope == "block"
    assert mul.name.startswith("block/") and mul.base == "block/mul"  # a new op in the old scope


def test_runtime_errors_in_fused_code_name_the_users_line():
    x, y = gf.placeholder((None, 3), "float64"), gf.placeholder((None, 3), "float64")
    z = gf.tanh(x + y) * 2.0
    f = gf.function([x, y], z)
    assert [n.op.op_name() for n in f.program.schedule] == ["fused"]
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones((4, 3)))
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert f"{__file__}:{z.node.site.rsplit(':', 1)[1]}" in notes


def test_substitute_replaces_sources_and_whole_nodes():
    x, x2 = gf.placeholder((2,)), gf.placeholder((2,))
    y = gf.exp(x) + 1.0
    (out,) = substitute([y], sources={x: x2})
    assert out.node.inputs[0].node.inputs[0] is x2
    (out,) = substitute([y], expand=lambda n: ([n.inputs[0]], lambda ins: [-ins[0]]) if n is y.node.inputs[0].node
                        else None)
    assert isinstance(out.node.inputs[0].node.op, ew.Neg)


# ---------------------------------------------------------------- the default (forgiving) mode
def test_a_failing_pass_is_skipped_visibly_in_the_default_mode(monkeypatch, capsys):
    from graphflow.compiler import program

    def broken(outputs, ctx, n):
        raise KeyError("internal bug")

    monkeypatch.delenv("GRAPHFLOW_STRICT_REWRITES")
    monkeypatch.setitem(program.PASSES, "canonicalize", broken)
    x = gf.placeholder((None, 2), "float64")
    with pytest.warns(CompilerWarning, match="compiler pass `canonicalize` failed") as record:
        f = gf.function([x], gf.tanh(x) * 1.0 + 0.0)
    text = str(record[0].message)
    assert "Traceback" in text and "KeyError: 'internal bug'" in text and "broken" in text
    np.testing.assert_allclose(f(np.ones((1, 2))), np.tanh([[1.0, 1.0]]))  # compiled without it
    assert f.program.report.failed_passes == ["canonicalize"]
    f.report()
    assert "canonicalize" in capsys.readouterr().out.split("FAILED")[0].rsplit("\n", 1)[-1]


def test_strict_mode_raises_a_failing_pass(monkeypatch):
    from graphflow.compiler import program
    monkeypatch.setitem(program.PASSES, "fuse", lambda outputs, ctx, n: 1 / 0)
    x = gf.placeholder((2,), "float64")
    with pytest.raises(ZeroDivisionError):
        gf.function([x], gf.tanh(x) + 1.0)


def test_fold_says_why_it_declined():
    labels = gf.constant(np.array([0, 7]), dtype="int64")
    f = gf.function([], gf.one_hot(labels, 3))
    declines = f.program.report.declines["fold_constants"]
    assert "one_hot" in declines[0][0] and "IndexError" in declines[0][1]
    with pytest.raises(IndexError, match="index 7 is outside"):
        f()
