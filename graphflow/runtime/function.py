"""``gf.function``: compile inputs -> outputs (+ variable updates) once; call many times."""
from __future__ import annotations

import numpy as np

from ..graph import FeedError, GraphError, Placeholder, Tensor, Variable, render_svg, sources, user_site
from ..graph.types import format_shape
from .backend import get_backend
from . import retrace
from .executor import Executor
from .feeds import check_feed

LEVELS = ("O0", "O1", "O2")


def function(inputs, outputs, updates=None, backend=None, optimize="O2", name=None):
    """Compile a graph into a callable.

    ``inputs``: placeholders (a list); ``outputs``: a tensor or a list of tensors;
    ``updates``: ``{variable: expression}`` or ``[(variable, expression), ...]`` — every
    expression is computed from the old values, then all are assigned together.

    >>> x = gf.placeholder((None, 3), name="x")
    >>> f = gf.function([x], x.sum(axis=1))
    >>> f(np.ones((2, 3)))
    array([3., 3.], dtype=float32)
    """
    return Function(inputs, outputs, updates, backend, optimize, name)


def _as_update_pairs(updates):
    if updates is None:
        return []
    pairs = list(updates.items()) if isinstance(updates, dict) else list(updates)
    out, seen = [], set()
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise GraphError(f"updates must be (variable, expression) pairs, got {pair!r}")
        var, expr = pair
        if not isinstance(var, Variable):
            raise GraphError(f"updates: only variables can be updated, got {var!r}")
        if id(var) in seen:
            raise GraphError(f"updates: variable `{var.name}` is updated twice")
        seen.add(id(var))
        from ..ops import _util, elementwise
        expr = _util.as_tensor(expr, var)
        if expr.ndim != var.ndim or any(d is not None and d != v for d, v in zip(expr.shape, var.shape)):
            raise GraphError(f"update of `{var.name}` {format_shape(var.shape)} has shape "
                             f"{format_shape(expr.shape)} (made at {user_site()})")
        if expr.dtype != var.dtype:
            if not np.can_cast(expr.dtype, var.dtype, "same_kind"):
                raise GraphError(f"update of `{var.name}` ({var.dtype}) has dtype {expr.dtype}")
            expr = elementwise.cast(expr, var.dtype)
        out.append((var, expr))
    return out


def _random_state_updates(targets, updates):
    """Random ops take their state (an int64 counter variable) as their last input; every
    call advances it by one, so each call draws fresh numbers, reproducibly from the seed."""
    from ..graph import toposort
    taken = {id(v) for v, _ in updates}
    extra = []
    for node in toposort(targets):
        state = node.inputs[-1] if node.op.random else None
        if isinstance(state, Variable) and id(state) not in taken:
            taken.add(id(state))
            extra.append((state, state + 1))
    return extra


def _owned(arr, feeds, state):
    """``arr``, copied if it is a view or one of the arrays the caller or a variable owns,
    so that writing into a returned array never changes a variable or a feed."""
    if not arr.flags.owndata or any(arr is a for a in feeds) or any(arr is a for a in state):
        return arr.copy()
    return arr


class Function:
    """A compiled graph. Call it with arrays (positionally, or by placeholder name)."""

    def __init__(self, inputs, outputs, updates=None, backend=None, optimize="O2", name=None):
        from ..compiler import compile_program
        if optimize not in LEVELS:
            raise ValueError(f"optimize must be one of {LEVELS}, got {optimize!r}")
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        for x in self.inputs:
            if not isinstance(x, Placeholder):
                raise GraphError(f"function inputs must be placeholders, got {x!r}")
        if len({id(x) for x in self.inputs}) != len(self.inputs):
            raise GraphError("function inputs list a placeholder twice")
        self.single = isinstance(outputs, Tensor)
        self.outputs = [outputs] if self.single else list(outputs)
        for o in self.outputs:
            if not isinstance(o, Tensor):
                raise GraphError(f"function outputs must be tensors, got {o!r}")
        self.updates = _as_update_pairs(updates)
        self.backend = get_backend(backend)
        self.optimize = optimize
        self.name = name or "function"
        self.updates += _random_state_updates(self.outputs + [e for _, e in self.updates], self.updates)
        self.program = compile_program(self.outputs + [e for _, e in self.updates], self.backend, optimize)
        self.executor = Executor(self.program, self.backend, self.inputs, len(self.outputs), self.updates)
        self._by_name = {x.name: x for x in self.inputs}
        # updates whose shape is only known at run time are checked after each call
        self._loose = [(v, e) for v, e in self.updates if None in e.shape]
        self._state = [t for t in sources(self.outputs) if isinstance(t, Variable)]
        retrace.note(self.inputs, self.outputs, self.updates, optimize, self.backend)  # warns on recompile loops

    @property
    def graph(self):
        """The compiled program: ``.outputs``, ``.schedule`` (nodes in run order)."""
        return self.program

    def _feeds(self, args, kwargs):
        if args and kwargs:
            raise TypeError(f"{self.name}: pass inputs either positionally or by name, not both")
        if kwargs:
            unknown = set(kwargs) - set(self._by_name)
            if unknown:
                raise TypeError(f"{self.name}: no input named {sorted(unknown)}; inputs are "
                                f"{sorted(self._by_name)}")
            missing = [n for n in self._by_name if n not in kwargs]
            if missing:
                raise TypeError(f"{self.name}: missing inputs {missing}")
            args = [kwargs[x.name] for x in self.inputs]
        if len(args) != len(self.inputs):
            names = ", ".join(x.name for x in self.inputs)
            raise TypeError(f"{self.name} takes {len(self.inputs)} inputs ({names}), got {len(args)}")
        return [check_feed(ph, v, self.backend) for ph, v in zip(self.inputs, args)]

    def __call__(self, *args, **kwargs):
        feeds = self._feeds(args, kwargs)
        state = [v._read(self.backend) for v in self._state]
        outs = self._run(feeds)
        outs = [_owned(np.asarray(self.backend.to_host(o)), feeds, state) for o in outs]
        return outs[0] if self.single else outs

    def call_on_device(self, *args, **kwargs):
        """Like calling, but outputs stay backend arrays (no copy to the host)."""
        outs = self._run(self._feeds(args, kwargs))
        return outs[0] if self.single else outs

    def _run(self, feeds):
        """Run; an update whose run-time shape differs from its variable's is undone
        (with every other update of the call) rather than silently reshaping the state."""
        if not self._loose:
            return self.executor.run(feeds)
        old = [(v, v._read(self.backend)) for v, _ in self.updates]
        outs = self.executor.run(feeds)
        for v, expr in self._loose:
            got = tuple(v._read(self.backend).shape)
            if got != v.shape:
                for var, arr in old:
                    var._write(arr, self.backend)
                raise FeedError(f"{self.name}: the update of variable `{v.name}` {format_shape(v.shape)} "
                                f"computed shape {format_shape(got)} for these inputs (update made at "
                                f"{expr.node.site if expr.node else user_site()}); no update was applied")
        return outs

    def report(self, shapes=None, file=None):
        """Print what the compiler did (per pass), then the static peak memory and FLOP
        estimates of the schedule for the last call's input shapes, or for ``shapes``
        (``{placeholder_or_name: shape}``)."""
        print(self.program.report.format(shapes=shapes), file=file)

    def _repr_svg_(self):
        return render_svg(self)  # installed by graphflow.viz (runtime does not import viz)

    def __repr__(self):
        return (f"<graphflow Function {self.name}: {len(self.inputs)} inputs, {len(self.outputs)} outputs, "
                f"{len(self.updates)} updates, {len(self.program.schedule)} kernels on {self.backend.name}>")
