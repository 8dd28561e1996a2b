"""The hot loop: a flat list of (kernel, input slots, output slot, out buffer).

Slots are shared by values whose lifetimes do not overlap, so writing a new value drops
the last reference to a dead one (no per-step frees). At ``O2`` the program carries a
memory plan; buffers for it are allocated once per input-shape signature and handed to
kernels as ``out=``; the steps for each signature are built once and cached.
"""
from __future__ import annotations

from ..graph import Constant, GraphError, Placeholder, Source, TensorType, Variable

MAX_SIGNATURES = 8  # planned buffer sets kept (one per distinct set of fed shapes)


def _pick(i):
    def pick(values, out=None):
        return values[i]
    return pick


class Executor:
    """Binds a compiled program to a backend: slots, kernels, constants on the device."""

    def __init__(self, program, backend, inputs, n_outputs, updates):
        self.backend, self.program = backend, program
        self.inputs = list(inputs)
        self.n_outputs = n_outputs
        self.update_vars = [v for v, _ in updates]
        slots = self._fixed_slots(program)
        self.template = [None] * self._n_fixed
        self.variables = []
        for t, i in slots.items():
            if isinstance(t, Placeholder) and i >= len(self.inputs):
                raise GraphError(f"the outputs depend on placeholder `{t.name}` (made at {t.site}), "
                                 f"which is not among the function's inputs")
            if isinstance(t, Constant):
                self.template[i] = backend.to_device(t.value)
            elif isinstance(t, Variable):
                self.variables.append((t, i))
        self.input_slots = list(range(len(self.inputs)))
        self._steps, self.nodes, n_slots = self._build_steps(program, slots)
        self.template += [None] * (n_slots - len(self.template))
        self.output_slots = [slots[t] for t in program.outputs]
        # an output that is a source itself is copied, so callers never hold state arrays
        self.copy_out = [isinstance(t, Source) for t in program.outputs]
        self._static_types = {t: t.type for t in slots if isinstance(t, Source)}
        self._signatures: dict = {}
        self.last_key = None
        self.steps = [(run, ins, o, None) for run, ins, o, _ in self._steps]
        program.report.last_shapes = self.last_shapes

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
        self._n_fixed = len(slots)
        return slots

    def _build_steps(self, program, slots):
        """Steps ``(kernel, input slots, output slot, value id or None)`` with slot reuse."""
        schedule, outputs = program.schedule, set(program.outputs)
        last = {}
        for k, node in enumerate(schedule):
            for t in node.inputs:
                last[t] = k
        vid = program.memory.vid if program.memory is not None else {}
        planned = program.memory.planned if program.memory is not None else ()
        free, n_slots, dying = [], len(slots), {}
        for t, k in last.items():
            if t not in outputs and not isinstance(t, Source):
                dying.setdefault(k, []).append(t)

        def new_slot():
            nonlocal n_slots
            if free:
                return free.pop()
            n_slots += 1
            return n_slots - 1

        steps, nodes = [], []
        for k, node in enumerate(schedule):
            ins = tuple(slots[t] for t in node.inputs)
            kernel = self.backend.kernel(node)
            free.extend(slots[t] for t in dying.get(k, ()))  # read by this step, then dead
            if len(node.outputs) == 1:
                o = node.outputs[0]
                slots[o] = new_slot()
                v = vid.get(o)
                steps.append((kernel, ins, slots[o], v if v is not None and planned[v] else None))
                nodes.append(node)
                continue
            tup = new_slot()
            steps.append((kernel, ins, tup, None))
            nodes.append(node)
            for i, o in enumerate(node.outputs):
                if o in last or o in outputs:
                    slots[o] = new_slot()
                    steps.append((_pick(i), (tup,), slots[o], None))
                    nodes.append(node)
            free.append(tup)
        return steps, nodes, n_slots

    def _signature_steps(self, key, feeds):
        """Steps with planned ``out=`` buffers for these fed shapes (made once, cached)."""
        from ..compiler.memory import assign_buffers
        from ..compiler.shapes import concrete_types
        plan = self.program.memory
        known = dict(self._static_types)
        known.update({ph: TensorType(ph.dtype, tuple(f.shape)) for ph, f in zip(self.inputs, feeds)})
        types = concrete_types(self.program.schedule, known)
        assignment = assign_buffers(plan, types)
        buffers = [self.backend.empty((size,), "uint8") for size in assignment.sizes]
        views = {}
        for v, b in enumerate(assignment.buffer_of):
            if b is not None:
                ty = types[plan.values[v]]
                views[v] = buffers[b][:assignment.nbytes[v]].view(ty.dtype).reshape(ty.shape)
        steps = [(run, ins, o, None if v is None else views.get(v)) for run, ins, o, v in self._steps]
        if len(self._signatures) >= MAX_SIGNATURES:
            self._signatures.pop(next(iter(self._signatures)))
        self._signatures[key] = steps
        return steps

    def last_shapes(self) -> dict | None:
        """``{placeholder: shape}`` of the last call (None before the first)."""
        return None if self.last_key is None else dict(zip(self.inputs, self.last_key))

    # ------------------------------------------------------------ running
    def run(self, feeds):
        self.last_key = key = tuple([f.shape for f in feeds])
        if self.program.plan_buffers:
            steps = self._signatures.get(key) or self._signature_steps(key, feeds)
        else:
            steps = self.steps
        env = list(self.template)
        for i, v in zip(self.input_slots, feeds):
            env[i] = v
        backend = self.backend
        for var, i in self.variables:
            env[i] = var._read(backend)
        try:
            for run, ins, o, buf in steps:
                env[o] = run(*[env[i] for i in ins], out=buf)
        except Exception as exc:
            self._locate(exc, steps, ins, o)
            raise
        values = [env[i] for i in self.output_slots]
        n = self.n_outputs
        outs = [v.copy() if c else v for v, c in zip(values[:n], self.copy_out[:n])]
        for var, value in zip(self.update_vars, values[n:]):
            var._write(value, backend)
        return outs

    def _locate(self, exc, steps, ins, o):
        """Say which node of the user's graph failed (the note names its file:line)."""
        for k, step in enumerate(steps):
            if step[1] is ins and step[2] == o:
                node = self.nodes[k]
                exc.add_note(f"while running {node.op.label()}: {node.where()}")
                return
