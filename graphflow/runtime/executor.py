"""The hot loop: a flat list of (kernel, input slots, output slots) over one slot list."""
from __future__ import annotations

from ..graph import Constant, GraphError, Placeholder, Source, Variable


class Executor:
    """Binds a compiled program to a backend: slots, kernels, constants on the device."""

    def __init__(self, program, backend, inputs, n_outputs, updates):
        self.backend = backend
        slot = {}

        def slot_of(t):
            if t not in slot:
                slot[t] = len(slot)
            return slot[t]

        for x in inputs:
            slot_of(x)
        self.input_slots = [slot[x] for x in inputs]
        steps = []
        for node in program.schedule:
            ins = tuple(slot_of(t) for t in node.inputs)
            outs = tuple(slot_of(t) for t in node.outputs)
            steps.append((backend.kernel(node), ins, outs))
        self.output_slots = [slot_of(t) for t in program.outputs]
        self.n_outputs = n_outputs
        self.update_vars = [v for v, _ in updates]
        self.template = [None] * len(slot)
        self.variables = []
        for t, i in slot.items():
            if isinstance(t, Placeholder) and i not in self.input_slots:
                raise GraphError(f"the outputs depend on placeholder `{t.name}` (made at {t.site}), "
                                 f"which is not among the function's inputs")
            if isinstance(t, Constant):
                self.template[i] = backend.to_device(t.value)
            elif isinstance(t, Variable):
                self.variables.append((t, i))
        # an output that is a source itself is copied, so callers never hold state arrays
        self.copy_out = [isinstance(t, Source) for t in program.outputs]
        self.steps = self._with_frees(steps)

    def _with_frees(self, steps):
        """Drop each intermediate after its last use so peak memory stays low."""
        keep = set(self.output_slots) | {i for i, v in enumerate(self.template) if v is not None}
        keep |= set(self.input_slots) | {i for _, i in self.variables}
        last = {}
        for k, (_, ins, outs) in enumerate(steps):
            for s in ins + outs:
                last[s] = k
        dead = [[] for _ in steps]
        for s, k in last.items():
            if s not in keep:
                dead[k].append(s)
        return [(run, ins, outs, tuple(d)) for (run, ins, outs), d in zip(steps, dead)]

    def run(self, feeds):
        env = list(self.template)
        for i, v in zip(self.input_slots, feeds):
            env[i] = v
        backend = self.backend
        for var, i in self.variables:
            env[i] = var._read(backend)
        for run, ins, outs, dead in self.steps:
            result = run(*[env[i] for i in ins])
            if len(outs) == 1:
                env[outs[0]] = result
            else:
                for i, r in zip(outs, result):
                    env[i] = r
            for i in dead:
                env[i] = None
        values = [env[i] for i in self.output_slots]
        n = self.n_outputs
        outs = [v.copy() if c else v for v, c in zip(values[:n], self.copy_out[:n])]
        for var, value in zip(self.update_vars, values[n:]):
            var._write(value, backend)
        return outs
