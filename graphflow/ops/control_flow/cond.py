"""``gf.cond``: TensorFlow 1.x's conditional — only the chosen branch runs.

Each branch is a ``Body`` traced from ``true_fn`` / ``false_fn``. What a branch builds
stays inside it (it runs only when chosen); the outer values it reads become inputs of
the ``Cond`` node, shared by both branches. The gradient is a ``Cond`` on the same
predicate whose branches are the branches' vector-Jacobian products.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...graph import GraphError, Op, TensorType, user_site
from ...graph.node import recording
from ...graph.dtypes import is_float
from ...graph.types import format_shape
from .. import shape as shape_ops
from .._util import as_tensor
from .body import Body, call_traced, capture, clone, control_flow_api, inner_placeholder
from .while_loop import flatten


@dataclass(frozen=True)
class Cond(Op):
    """``then.outputs if pred else orelse.outputs``; inputs ``(pred, *shared)``, where
    ``shared`` feeds both branches' placeholders (the same list for both)."""

    then: Body
    orelse: Body
    cond_name: str = "cond"
    views = None  # a branch may return one of its inputs as it is

    def bodies(self) -> tuple:
        return (self.then, self.orelse)

    @property
    def random(self):
        return bool(self.then.counter_inputs or self.orelse.counter_inputs)

    def counters(self, n_inputs: int) -> tuple:
        return tuple(sorted({1 + k for k in self.then.counter_inputs + self.orelse.counter_inputs}))

    def label(self) -> str:
        return f"cond `{self.cond_name}`"

    def where(self) -> str:
        return f"cond `{self.cond_name}` (made at {self.then.site})"

    def infer(self, pred, *shared):
        if pred.ndim != 0 or pred.dtype != "bool":
            raise TypeError(f"{self.where()}: the predicate must be a boolean scalar, got {pred}")
        a = self.then.output_types(list(shared))
        b = self.orelse.output_types(list(shared))
        return [merge_types(x, y, k, self.where()) for k, (x, y) in enumerate(zip(a, b))]

    def flops(self, in_types, out_types) -> int:
        return 0

    def grad(self, inputs, outputs, output_grads):
        from .loop_grad import _VJP, _is_zero
        pred, shared = inputs[0], list(inputs[1:])
        live = [(k, g) for k, g in enumerate(output_grads) if not _is_zero(g) and is_float(outputs[k].dtype)]
        wrt = [k for k, x in enumerate(shared) if is_float(x.dtype)]
        if not live or not wrt:
            return [None] * len(inputs)
        phs = [inner_placeholder(p.type, f"{self.cond_name}_grad/{p.name.split('/')[-1]}")
               for p in self.then.inputs]
        gphs = [inner_placeholder(TensorType(g.dtype, outputs[k].shape), f"{self.cond_name}_grad/g{k}")
                for k, g in live]
        branches = []
        for body in (self.then, self.orelse):
            outs = clone(body.outputs, dict(zip(body.inputs, phs)))
            ys = [outs[k] for k, _ in live]
            gs = _VJP[0](ys, [phs[k] for k in wrt], gphs)
            gs = [g if g is not None else shape_ops.zeros_like(phs[k]) for g, k in zip(gs, wrt)]
            branches.append(Body(phs + gphs, gs, 0, None, f"{self.cond_name}_grad", body.site))
        op = Cond(branches[0], branches[1], f"{self.cond_name}_grad")
        res = op(pred, *shared, *[g for _, g in live], name=f"{self.cond_name}_grad")
        res = [res] if len(wrt) == 1 else list(res)
        found = dict(zip(wrt, res))
        return [None] + [found.get(k) for k in range(len(shared))]


def merge_types(a: TensorType, b: TensorType, k: int, where: str) -> TensorType:
    """The type both branches' output ``k`` have: same dtype and rank; a dimension the
    branches disagree on is unknown (``None``)."""
    if a.dtype != b.dtype or a.ndim != b.ndim:
        raise TypeError(f"{where}: the branches disagree on output {k}: true_fn gives "
                        f"{a.dtype}{format_shape(a.shape)}, false_fn gives {b.dtype}{format_shape(b.shape)}")
    return TensorType(a.dtype, tuple(x if x == y else None for x, y in zip(a.shape, b.shape)))


def _branch(fn, where, what):
    with recording() as made:
        result = call_traced(fn, [], where, what)
    if result is None:
        raise GraphError(f"{where}: {what} returned None; it must return a tensor or a structure of them")
    leaves, rebuild = flatten(result)
    return leaves, rebuild, made


@control_flow_api
def cond(pred, true_fn, false_fn, name=None):
    """TF 1.x's cond: ``true_fn()`` if ``pred`` else ``false_fn()``; only the chosen branch
    runs. Both return the same structure (a tensor, or nested lists/tuples/dicts) with the
    same dtypes; a dimension they disagree on becomes unknown.

    >>> y = gf.cond(n > 0, lambda: x / n, lambda: gf.zeros_like(x))
    """
    name = str(name or "cond")
    site = user_site()
    where = f"cond `{name}` (made at {site})"
    pred = as_tensor(pred)
    if pred.ndim != 0 or pred.dtype != "bool":
        raise GraphError(f"{where}: pred must be a boolean scalar, got {pred.dtype}{format_shape(pred.shape)}")
    a, rebuild, made_a = _branch(true_fn, where, "true_fn")
    b, rebuild_b, made_b = _branch(false_fn, where, "false_fn")
    if len(a) != len(b):
        raise GraphError(f"{where}: true_fn returns {len(a)} values, false_fn returns {len(b)}")
    for k, (x, y) in enumerate(zip(a, b)):
        try:
            merge_types(x.type, y.type, k, where)
        except TypeError as exc:
            raise GraphError(str(exc)) from None
    made = made_a + made_b  # a node both build is made by the first and found by the second
    new_a, cap_a, phs_a, _, _, cnt_a = capture(a, [], [], {}, f"{name}/true", mix=False, inside=made)
    new_b, cap_b, phs_b, _, _, cnt_b = capture(b, [], [], {}, f"{name}/false", mix=False, inside=made)
    inputs = phs_a + phs_b
    then = Body(inputs, new_a, 0, None, f"{name}/true", site, (), tuple(inputs.index(c) for c in cnt_a))
    orelse = Body(inputs, new_b, 0, None, f"{name}/false", site, (), tuple(inputs.index(c) for c in cnt_b))
    res = Cond(then, orelse, name)(pred, *cap_a, *cap_b, name=name)
    res = [res] if len(a) == 1 else list(res)
    return rebuild(res)
