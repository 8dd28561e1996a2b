"""``gf.function``: compile inputs -> outputs (+ variable updates) once; call many times."""
from __future__ import annotations

import numpy as np

from ..graph import FeedError, GraphError, Placeholder, Tensor, Variable, render_svg, user_site
from ..graph.types import format_shape
from .backend import get_backend
from . import retrace
from .executor import Executor
from .feeds import check_feed
from .numerics import numerics_default as _numerics_default, numerics_watch
from .precision import compiling, conv_precision
from .profile import Profile, print_at_exit, profiling_by_default

LEVELS = ("O0", "O1", "O2")


def function(inputs, outputs, updates=None, backend=None, optimize="O2", name=None, check_numerics=None):
    """Compile a graph into a callable.

    ``inputs``: placeholders (a list); ``outputs``: a tensor or a list of tensors;
    ``updates``: ``{variable: expression}`` or ``[(variable, expression), ...]`` — every
    expression is computed from the old values, then all are assigned together.

    >>> x = gf.placeholder((None, 3), name="x")
    >>> f = gf.function([x], x.sum(axis=1))
    >>> f(np.ones((2, 3)))
    array([3., 3.], dtype=float32)

    ``check_numerics=True`` (or ``GRAPHFLOW_CHECK_NUMERICS=1``) raises at the first node
    whose output holds NaN or Inf, naming the op, its scope and your line (see
    docs/reliability.md); the program is then compiled without fusion, so each op is
    checked on its own. It costs nothing when off.
    """
    return Function(inputs, outputs, updates, backend, optimize, name, check_numerics)


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
        for pos in node.op.counters(len(node.inputs)):  # a loop's body may draw too
            state = node.inputs[pos]
            if isinstance(state, Variable) and id(state) not in taken:
                taken.add(id(state))
                extra.append((state, state + 1))
    return extra


def _shared_outputs(program, n_outputs) -> list:
    """For each user output, whether it may share memory with something the caller must
    not be able to change through it: a variable, constant or feed, an update's new value
    (which becomes a variable), or an earlier output (the same array returned twice).
    Those outputs are copied; the rest are fresh arrays nobody else holds."""
    from ..compiler.memory import may_view

    def roots(t, memo):
        """The values and sources ``t`` may share memory with (itself included)."""
        found = memo.get(t)
        if found is None:
            found = {t}
            node = t.node
            if node is not None and node.op.views != ():
                for pos, x in enumerate(node.inputs):
                    if may_view(node.op, pos):
                        found |= roots(x, memo)
            memo[t] = found
        return found

    memo, taken, shared = {}, set(), []
    for t in program.outputs[n_outputs:]:
        taken |= roots(t, memo)
    for t in program.outputs[:n_outputs]:
        r = roots(t, memo)
        shared.append(bool(r & taken) or any(x.node is None for x in r))
        taken |= r
    return shared


class Function:
    """A compiled graph. Call it with arrays (positionally, or by placeholder name).

    Safe to call from several threads at once: each call has its own buffers, reads the
    variables as they are when it starts, and commits its updates together when it ends
    (so two concurrent training steps are each applied whole, one after the other)."""

    def __init__(self, inputs, outputs, updates=None, backend=None, optimize="O2", name=None,
                 check_numerics=None):
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
        self.check_numerics = _numerics_default() if check_numerics is None else bool(check_numerics)
        self.updates += _random_state_updates(self.outputs + [e for _, e in self.updates], self.updates)
        self.conv_precision = conv_precision()  # kept: the kernels below are made with it
        with compiling(self.conv_precision):
            self.program = compile_program(self.outputs + [e for _, e in self.updates], self.backend, optimize,
                                           skip=("fuse",) if self.check_numerics else ())
            self.program.report.settings["conv precision"] = self.conv_precision
            self.executor = Executor(self.program, self.backend, self.inputs, len(self.outputs),
                                     [v for v, _ in self.updates])
        self._by_name = {x.name: x for x in self.inputs}
        # updates whose shape is only known at run time are checked before each commit
        self._loose = [(i, v, _loose_message(self.name, v, e)) for i, (v, e) in enumerate(self.updates)
                       if None in e.shape]
        self._copy_out = _shared_outputs(self.program, len(self.outputs))
        self._profile = None
        if profiling_by_default():  # GRAPHFLOW_PROFILE=1: every call, printed at exit
            self._profile = Profile(self.name)
            print_at_exit(self._profile)
        retrace.note(self.inputs, self.outputs, self.updates, optimize, self.backend,
                     self.conv_precision)  # warns on recompile loops

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
        outs = self._run(self._feeds(args, kwargs))
        hosts = []
        for arr, copy in zip(outs, self._copy_out):
            host = np.asarray(self.backend.to_host(arr))
            hosts.append(host.copy() if (copy and host is arr) or not host.flags.writeable else host)
        return hosts[0] if self.single else hosts

    def call_on_device(self, *args, **kwargs):
        """Like calling, but outputs stay backend arrays (no copy to the host)."""
        outs = self._run(self._feeds(args, kwargs))
        outs = [o.copy() if copy else o for o, copy in zip(outs, self._copy_out)]
        return outs[0] if self.single else outs

    def _run(self, feeds, profile=None):
        watch = numerics_watch(self.backend) if self.check_numerics else None
        profile = profile or self._profile
        if profile is not None:
            watch = profile.watch(self, watch)
            profile.jit = self.backend.jit_stats()
        return self.executor.run(feeds, self._loose, watch)

    def checked(self) -> "Function":
        """This function compiled with ``check_numerics=True`` (made once): the same
        inputs, outputs and updates, raising ``NumericsError`` at the first non-finite op."""
        if self.check_numerics:
            return self
        if getattr(self, "_checked", None) is None:
            with compiling(self.conv_precision):  # the same arithmetic, checked
                self._checked = Function(self.inputs, self.outputs[0] if self.single else self.outputs,
                                         self.updates, self.backend, self.optimize, self.name,
                                         check_numerics=True)
        return self._checked

    def start_profile(self) -> Profile:
        """Profile every call from now on (until ``stop_profile``); returns the profile."""
        self._profile = Profile(self.name, compile_seconds=self.program.report.seconds)
        return self._profile

    def stop_profile(self) -> Profile | None:
        """Stop profiling; returns what was collected since ``start_profile``."""
        prof, self._profile = self._profile, None
        if prof is not None:
            self.last_profile = prof
        return prof

    def profile(self, *args, repeat: int = 1, **kwargs) -> Profile:
        """Call the function ``repeat`` times on these inputs (real calls: updates apply)
        and return where the time went: per op type and per node of the schedule, share
        of the step, achieved GFLOP/s for matmul and conv, bytes allocated per call.

        >>> print(train.profile(xb, yb, repeat=5))
        """
        prof = Profile(self.name, compile_seconds=self.program.report.seconds)
        feeds = self._feeds(args, kwargs)
        for _ in range(int(repeat)):
            self._run(feeds, prof)
        self.last_profile = prof
        return prof

    def report(self, shapes=None, file=None):
        """Print what the compiler did (per pass), then the static peak memory and FLOP
        estimates of the schedule for the last call's input shapes, or for ``shapes``
        (``{placeholder_or_name: shape}``)."""
        if shapes is None:
            shapes = self.executor.last_shapes()
        print(self.program.report.format(shapes=shapes), file=file)

    def _repr_svg_(self):
        return render_svg(self)  # installed by graphflow.viz (runtime does not import viz)

    def __repr__(self):
        return (f"<graphflow Function {self.name}: {len(self.inputs)} inputs, {len(self.outputs)} outputs, "
                f"{len(self.updates)} updates, {len(self.program.schedule)} kernels on {self.backend.name}>")


def _loose_message(name, var, expr):
    site = expr.node.site if expr.node is not None else user_site()

    def error(got):
        return FeedError(f"{name}: the update of variable `{var.name}` {format_shape(var.shape)} computed "
                         f"shape {format_shape(got)} for these inputs (update made at {site}); no update "
                         f"was applied")
    return error
