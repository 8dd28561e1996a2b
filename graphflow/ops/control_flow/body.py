"""Body: the sub-graph a loop or a branch runs — inner placeholders in, tensors out.

A body is traced once, when the user's ``fn`` is called on inner placeholders. Tracing
also *captures*: every maximal sub-expression that does not depend on what changes from
one iteration to the next (the slices, the carried values, the iteration index, random
draws) is lifted out of the body and becomes an input of the loop — the outer graph
computes it once (Theano's scan "push out" of loop invariants). That includes the
outer tensors the user's ``fn`` refers to directly (weights it closes over), so a body
never refers to anything but its own placeholders and constants, and gradients reach
those outer tensors as ordinary loop inputs.

Random draws inside a body get their counter mixed with the iteration index
(``counter * 2**20 + t``), so each iteration draws fresh numbers and a seed replays all
of them (distinct for up to 2**20 iterations per call).
"""
from __future__ import annotations

import functools

from ...graph import Constant, Placeholder, Tensor, TensorType, apply, user_site
from ...graph.node import scoped

INDEX_BITS = 20  # iterations per call that draw distinct random numbers


class Body:
    """``outputs`` as functions of ``inputs`` (placeholders made for the body).

    ``n_variant`` leading inputs change per iteration (slices, carried values); the rest
    are invariant (non-sequences, captured outer values); ``index`` is the placeholder of
    the iteration number (an int64 scalar) when random draws need it, else None.
    ``hoisted`` names the expressions that capture lifted out of the body.

    Bodies compare by identity: two loops with the same body object are the same loop."""

    __slots__ = ("inputs", "outputs", "n_variant", "index", "name", "site", "hoisted", "counter_inputs",
                 "pushed", "_types", "__weakref__")

    def __init__(self, inputs, outputs, n_variant, index=None, name="body", site=None, hoisted=(),
                 counter_inputs=()):
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self.n_variant = n_variant
        self.index = index
        self.name = name
        self.site = site or user_site()
        self.hoisted = tuple(hoisted)
        #: positions in ``inputs`` of random counters (the loop's caller advances them)
        self.counter_inputs = tuple(counter_inputs)
        #: the work moved out to run over all steps at once (see pushout.py), for reports
        self.pushed = ()
        self._types = {}

    @property
    def all_inputs(self) -> tuple:
        """The placeholders a compiled body is fed: ``inputs`` then ``index`` if any."""
        return self.inputs + ((self.index,) if self.index is not None else ())

    def output_types(self, input_types) -> list:
        """Output types for concrete (or partial) input types: static inference re-run
        through the body, so an unknown batch dimension becomes known at run time."""
        key = tuple(input_types)
        found = self._types.get(key)
        if found is None:
            env = dict(zip(self.inputs, key))
            for node in _toposort(self.outputs):
                ins = [env.get(t, t.type) for t in node.inputs]
                try:
                    out = node.op.infer(*ins)
                except (ValueError, TypeError):
                    out = [o.type for o in node.outputs]
                outs = [out] if isinstance(out, TensorType) else list(out)
                env.update(zip(node.outputs, outs))
            found = self._types[key] = [env.get(t, t.type) for t in self.outputs]
            if len(self._types) > 64:
                self._types.clear()
        return found

    def __repr__(self):
        return f"<Body {self.name}: {len(self.inputs)} inputs -> {len(self.outputs)} outputs>"


def _toposort(outputs):
    from ...graph import toposort
    return toposort(outputs)


def inner_placeholder(ty: TensorType, name: str) -> Placeholder:
    return Placeholder(ty, scoped(name))


def counter_positions(node) -> tuple:
    """Input positions of ``node`` holding random counters (see ``Op.counters``)."""
    return node.op.counters(len(node.inputs))


def clone(outputs, mapping: dict, mix=None) -> list:
    """Rebuild the graph of ``outputs`` with the tensors in ``mapping`` replaced;
    ``mix(counter) -> tensor`` rewrites the random counters found on the way."""
    done = dict(mapping)
    for node in _toposort(outputs):
        if all(o in mapping for o in node.outputs):
            continue  # replaced whole: what it is made from is not needed
        ins = [done.get(t, t) for t in node.inputs]
        if mix is not None:
            for pos in counter_positions(node):
                ins[pos] = mix(ins[pos])
        if all(a is b for a, b in zip(ins, node.inputs)):
            continue
        new = apply(node.op, ins, name=node.base.rpartition("/")[2], tags=node.tags)
        done.update((o, n) for o, n in zip(node.outputs, new) if o not in mapping)
    return [done.get(t, t) for t in outputs]


def _variant_set(outputs, variant_inputs, inside=()) -> set:
    """Ids of tensors that change from one iteration to the next (or, for a branch, that
    were made inside it: ``inside`` holds such nodes)."""
    live = {id(t) for t in variant_inputs}
    inside = {id(n) for n in inside}
    for node in _toposort(outputs):
        if node.op.random or id(node) in inside or any(id(t) in live for t in node.inputs):
            live.update(id(o) for o in node.outputs)
    return live


def _constant_only(t, memo) -> bool:
    """Whether ``t`` is built from constants alone (the compiler folds it in place)."""
    found = memo.get(id(t))
    if found is None:
        if t.node is None:
            found = isinstance(t, Constant)
        else:
            found = all(_constant_only(u, memo) for u in t.node.inputs)
        memo[id(t)] = found
    return found


def capture(outputs, variant_inputs, invariant_inputs, outer_of: dict, name: str, index=None, mix=True,
            inside=()):
    """Lift loop-invariant expressions out of a body.

    ``variant_inputs``: the placeholders that change per iteration; ``invariant_inputs``:
    the body's placeholders for invariant values, ``outer_of`` maps each to its outer
    tensor. ``mix=False`` (a gradient's body, whose draws are already mixed with the
    forward ``index``) leaves the counters alone. Returns ``(new outputs, captured outer tensors, their inner placeholders,
    hoisted labels, index placeholder or None, counter placeholders)``: the body's inputs
    become ``variant + invariant + captured (+ index)``."""
    outputs = list(outputs)
    variant = _variant_set(outputs, variant_inputs, inside)
    memo, lifted, hoisted = {}, {}, []
    own = {id(t) for t in invariant_inputs}

    def lift(t):
        """The inner placeholder standing for the invariant outer value ``t``."""
        if id(t) in own or _constant_only(t, memo):
            return t
        key = id(t)
        if key not in lifted:
            outer = clone([t], outer_of)[0] if t.node is not None else t
            ph = inner_placeholder(t.type, f"{name}/{t.name.rpartition('/')[2]}")  # named as outside
            lifted[key] = (outer, ph)
            if t.node is not None:
                hoisted.append(f"{t.node.op.label()} ({t.node.site})")
        return lifted[key][1]

    mapping = {}
    for node in _toposort(outputs):
        if not any(id(o) in variant for o in node.outputs):
            continue
        for t in node.inputs:
            if id(t) not in variant:
                mapping[t] = lift(t)
    for t in outputs:
        if id(t) not in variant:
            mapping[t] = lift(t)
    if mix and any(counter_positions(node) for node in _toposort(outputs)):
        index = inner_placeholder(TensorType("int64", ()), f"{name}/iteration")

    counters = []

    def mixer(counter):
        if counter not in counters:
            counters.append(counter)
        return apply_mix(counter, index) if mix and index is not None else counter
    new = clone(outputs, mapping, mixer)
    captured = [v[0] for v in lifted.values()]
    inner = [v[1] for v in lifted.values()]
    return new, captured, inner, hoisted, index, counters


def apply_mix(counter: Tensor, index: Tensor) -> Tensor:
    """``counter * 2**20 + index``: a fresh, reproducible counter per iteration."""
    from .. import elementwise
    from ...graph import constant
    c = counter if counter.dtype == "int64" else elementwise.cast(counter, "int64")
    return elementwise.add(elementwise.mul(c, constant(2 ** INDEX_BITS, dtype="int64")), index)


def as_tensor_list(value, what: str) -> list:
    """A tensor or a list/tuple of tensors (Python numbers become constants) as a list."""
    from .._util import as_tensor
    if value is None:
        return []
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [as_tensor(v) for v in value]
    return [as_tensor(value)]



class _Traced(Exception):
    """Carries an exception raised by the user's own function through ``user_errors``
    (which would turn it into a build error and lose its traceback)."""

    def __init__(self, exc):
        super().__init__(str(exc))
        self.exc = exc


def call_traced(fn, args, where: str, what: str):
    """``fn(*args)``: the user's step / body / branch function, traced once. What it
    raises reaches the caller as it is, with a note naming the loop being traced."""
    if not callable(fn):
        raise TypeError(f"{where}: {what} must be a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except Exception as exc:
        exc.add_note(f"while tracing {what} of {where}")
        raise _Traced(exc) from None


def control_flow_api(fn):
    """``user_errors`` for the loop builders: a bad argument is a build error naming the
    builder and the user's line; an error raised by the user's function is re-raised."""
    from .._util import user_errors
    inner = user_errors(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return inner(*args, **kwargs)
        except _Traced as traced:
            raise traced.exc from None
    return wrapper
