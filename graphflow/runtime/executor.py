"""The hot loop: a flat list of (kernel, input slots, output slot, out buffer).

Slots are shared by values whose lifetimes do not overlap (the compiler's liveness,
``program.memory.last``: computed once, there), so writing a new value drops the last
reference to a dead one. At ``O2`` the memory plan gives some values planned buffers,
handed to kernels as ``out=``. Buffers belong to one call at a time: each input-shape
signature keeps a small pool of buffer sets, and a call takes one set (or makes one when
another thread holds the others) and gives it back, so a ``Function`` may be called from
several threads at once. A call reads the variables' values at its start and commits its
updates together at its end (``variables.snapshot`` / ``commit``).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from ..graph import Constant, GraphError, Placeholder, Source, TensorType, Variable
from ..utils import checks
from . import loops, variables

MAX_SIGNATURES = 8  # input-shape signatures whose buffer sets are kept


def _pick(i):
    def pick(values, out=None):
        return values[i]
    return pick


class _Signature:
    """Buffer sets (each a list of steps bound to its own buffers) for one signature."""

    __slots__ = ("free", "made")

    def __init__(self):
        self.free, self.made = [], 0


class Executor:
    """Binds a compiled program to a backend: slots, kernels, constants on the device."""

    def __init__(self, program, backend, inputs, n_outputs, update_vars):
        self.backend, self.program = backend, program
        self.inputs = list(inputs)
        self.n_outputs = n_outputs
        self.update_vars = list(update_vars)
        slots = self._fixed_slots(program)
        self.template = [None] * len(slots)
        self.state_vars, self.state_slots = [], []
        for t, i in slots.items():
            if isinstance(t, Placeholder) and i >= len(self.inputs):
                raise GraphError(f"the outputs depend on placeholder `{t.name}` (made at {t.site}), "
                                 f"which is not among the function's inputs")
            if isinstance(t, Constant):
                self.template[i] = backend.to_device(t.value)
            elif isinstance(t, Variable):
                self.state_vars.append(t)
                self.state_slots.append(i)
        self._steps, self.nodes, n_slots = self._build_steps(program, slots)
        self.template += [None] * (n_slots - len(self.template))
        self.output_slots = [slots[t] for t in program.outputs]
        self._static_types = {t: t.type for t in slots if isinstance(t, Source)}
        self._signatures: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.last_key = None
        self.steps = [(run, ins, o, None) for run, ins, o, _ in self._steps]

    # ------------------------------------------------------------ building
    def _fixed_slots(self, program) -> dict:
        """Inputs first, then every other source: their slots are never reused."""
        slots = {x: i for i, x in enumerate(self.inputs)}
        for t in program.outputs:
            if isinstance(t, Source):
                slots.setdefault(t, len(slots))
        for node in program.schedule:
            for t in node.inputs:
                if isinstance(t, Source):
                    slots.setdefault(t, len(slots))
        return slots

    def _build_steps(self, program, slots):
        """Steps ``(kernel, input slots, output slot, value id or None)`` with slot reuse;
        a slot is free again after the last step that reads its value (the plan's liveness)."""
        plan = program.memory
        free, n_slots, dying = [], len(slots), {}
        for v, t in enumerate(plan.values):
            if plan.last[v] < len(plan.schedule):
                dying.setdefault(plan.last[v], []).append(t)

        def new_slot():
            nonlocal n_slots
            if free:
                return free.pop()
            n_slots += 1
            return n_slots - 1

        steps, nodes = [], []
        for k, node in enumerate(program.schedule):
            ins = tuple(slots[t] for t in node.inputs)
            subs = program.bodies.get(node) if program.bodies else None
            kernel = loops.kernel(node, subs, self.backend) if subs is not None else self.backend.kernel(node)
            if len(node.outputs) == 1:
                o = node.outputs[0]
                slots[o] = new_slot()
                v = plan.vid[o]
                steps.append((kernel, ins, slots[o], v if program.plan_buffers and plan.planned[v] else None))
                nodes.append(node)
            else:
                tup = new_slot()
                steps.append((kernel, ins, tup, None))
                nodes.append(node)
                for i, o in enumerate(node.outputs):
                    slots[o] = new_slot()
                    steps.append((_pick(i), (tup,), slots[o], None))
                    nodes.append(node)
                free.append(tup)
            free.extend(slots[t] for t in dying.get(k, ()))  # read here for the last time
        return steps, nodes, n_slots

    def _bound_steps(self, key, feeds):
        """Steps with planned ``out=`` buffers for these fed shapes: a fresh buffer set."""
        from ..compiler.memory import assign_buffers
        from ..compiler.shapes import concrete_types
        plan = self.program.memory
        known = dict(self._static_types)
        known.update({ph: TensorType(ph.dtype, tuple(f.shape)) for ph, f in zip(self.inputs, feeds)})
        types = concrete_types(self.program.schedule, known)
        assignment = assign_buffers(plan, types)
        try:
            buffers = [self.backend.empty((size,), "uint8") for size in assignment.sizes]
        except MemoryError:
            sizes = [(n or 0, plan.values[v]) for v, n in enumerate(assignment.nbytes)]
            n, biggest = max(sizes, key=lambda s: s[0])
            raise MemoryError(f"the planned buffers for inputs of shapes {list(key)} need {sum(assignment.sizes):,} "
                              f"bytes; the largest value, {n:,} bytes, is made by {biggest.node.where()}") from None
        views = {}
        for v, b in enumerate(assignment.buffer_of):
            if b is not None:
                ty = types[plan.values[v]]
                views[v] = buffers[b][:assignment.nbytes[v]].view(ty.dtype).reshape(ty.shape)
        return [(run, ins, o, None if v is None else views.get(v)) for run, ins, o, v in self._steps]

    def _take(self, key, feeds):
        """A buffer set for this signature that no other call is using."""
        with self._lock:
            sig = self._signatures.get(key)
            if sig is None:
                if len(self._signatures) >= MAX_SIGNATURES:
                    self._signatures.popitem(last=False)
                sig = self._signatures[key] = _Signature()
            else:
                self._signatures.move_to_end(key)
            if sig.free:
                return sig, sig.free.pop()
            sig.made += 1
        return sig, self._bound_steps(key, feeds)

    def _give_back(self, sig, steps):
        with self._lock:
            sig.free.append(steps)

    def last_shapes(self) -> dict | None:
        """``{placeholder: shape}`` of the last call (None before the first)."""
        return None if self.last_key is None else dict(zip(self.inputs, self.last_key))

    # ------------------------------------------------------------ running
    def run(self, feeds, loose=(), watch=None):
        """Run one call: returns the user outputs (backend arrays); updates are committed.

        ``loose``: ``[(update index, variable, error(shape) -> exception)]`` whose run-time
        shape must be checked before committing. ``watch(k, node, value, args, buf)``:
        called after every step (numerics checking, profiling); None in the fast path."""
        if self.update_vars:
            with variables.STEP_LOCK:
                return self._run(feeds, loose, watch)
        return self._run(feeds, loose, watch)

    def _run(self, feeds, loose, watch):
        self.last_key = key = tuple([f.shape for f in feeds])
        sig = None
        if self.program.plan_buffers:
            sig, steps = self._take(key, feeds)
        else:
            steps = self.steps
        try:
            values = self._execute(steps, feeds, watch)
        finally:
            if sig is not None:
                self._give_back(sig, steps)
        n = self.n_outputs
        updates = values[n:]
        for i, var, error in loose:
            got = tuple(updates[i].shape)
            if got != var.shape:
                raise error(got)
        variables.commit(self.update_vars, updates, self.backend)
        return values[:n]

    def _execute(self, steps, feeds, watch):
        env = list(self.template)
        for i, v in enumerate(feeds):
            env[i] = v
        for i, array in zip(self.state_slots, variables.snapshot(self.state_vars, self.backend)):
            env[i] = array
        pending = checks.start()
        ins = None
        try:
            if watch is None:
                for run, ins, o, buf in steps:  # the hot loop: nothing but the kernels
                    env[o] = run(*[env[i] for i in ins], out=buf)
            else:
                for k, (run, ins, o, buf) in enumerate(steps):
                    args = [env[i] for i in ins]
                    env[o] = run(*args, out=buf)
                    watch(k, self.nodes[k], env[o], args, buf)
        except BaseException as exc:
            checks.abandon()
            if isinstance(exc, Exception) and ins is not None:  # name the node that failed
                k = next(j for j, s in enumerate(steps) if s[1] is ins and s[2] == o)
                exc.add_note(f"while running {self.nodes[k].op.label()}: {self.nodes[k].where()}")
            raise
        checks.finish(pending, self.backend.to_host)
        return [env[i] for i in self.output_slots]
