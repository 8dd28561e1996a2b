"""Kernels for fused ops: generated Python that calls each step's kernel with ``out=``.

For each input-shape signature the kernel plans registers once: ``out`` (the result
buffer) and as few temporaries as the steps' shapes allow. A chain of N same-shaped
element-wise ops runs entirely in ``out`` (no temporary); a value that is needed while
another is computed takes one. A step whose kernel is alias-safe (``alias_safe``) may
write over an input that dies there; any other kernel gets a register none of its inputs
occupy, and its result is copied there if it returned a different array. Everything is
written against ``xp``, so the CuPy backend reuses it unchanged.

    def fused(x0, x1, out):          # tanh(x0 * x1 + x1), generated
        k0(x0, x1, out=out)
        k1(out, x1, out=out)
        k2(out, out=out)
        return out

A kernel is not re-entrant: its temporaries are shared by the calls of one Function.
"""
from __future__ import annotations

import numpy as np

from graphflow.graph import Tensor
from graphflow.ops.fused import Fused, FusedEpilogue, alias_safe, step_type

from ..table import KERNELS

MAX_PLANS = 8  # signatures whose generated code and temporaries are kept


class _Step:
    """What a kernel factory reads of a node (op, typed inputs and outputs, where), for
    one step of a fused op; it speaks for the fused node in error messages."""

    def __init__(self, op, inputs, out_type, origin):
        self.op, self.inputs, self.origin = op, inputs, origin
        self.outputs = (Tensor(out_type, self, 0),)
        self.site, self.scope, self.name = origin.site, origin.scope, origin.name

    def where(self) -> str:
        return self.origin.where()


def _sub_nodes(ops_and_refs, input_types, origin):
    """Stand-in nodes for the steps, on inputs of ``input_types``."""
    vals = [Tensor(t) for t in input_types]
    nodes = []
    for op, refs in ops_and_refs:
        ins = [vals[r] for r in refs]
        node = _Step(op, ins, step_type(op, *[t.type for t in ins]), origin)
        vals.append(node.outputs[0])
        nodes.append(node)
    return nodes


class _Plan:
    """Registers for one signature: where each step writes, and the code that does it."""

    def __init__(self, op: Fused, safe, dtypes, shapes):
        n, steps = op.n_inputs, op.steps
        shapes = list(shapes)
        for _, refs in steps:
            shapes.append(np.broadcast_shapes(*[shapes[r] for r in refs]))
        self.shape, self.dtype = shapes[-1], dtypes[-1]
        last = {}
        for j, (_, refs) in enumerate(steps):
            for r in refs:
                last[r] = j
        where = {}                      # value -> register name
        holder = {}                     # register -> value it holds
        if any(op.inplace_ok(p) for p in range(n)):
            holder["out"] = "inputs"    # ``out`` may be one of those inputs until step 0 reads it
            last["inputs"] = 0
        temps, lines = [], []
        names = [f"x{i}" for i in range(n)]
        for j, (_, refs) in enumerate(steps):
            v, shape, dtype = n + j, shapes[n + j], dtypes[j]
            dying = {r for r in refs if last.get(r) == j} | ({"inputs"} if j == 0 else set())
            if safe[j]:
                self._release(dying, where, holder)
            reg = self._choose(j == len(steps) - 1, shape, dtype, holder, temps)
            if not safe[j]:
                self._release(dying, where, holder)
            holder[reg], where[v] = v, reg
            args = ", ".join(names[r] for r in refs)
            if safe[j]:
                lines.append(f"k{j}({args}, out={reg})")
            else:
                lines += [f"r = k{j}({args}, out={reg})", f"if r is not {reg}: {reg}[...] = r"]
            names.append(reg)
        if names[-1] != "out":
            lines.append(f"out[...] = {names[-1]}")
        self.temps_spec = temps
        self.source = "\n".join([f"def fused({', '.join(f'x{i}' for i in range(n))}, out):"]
                                + [f"    {line}" for line in lines] + ["    return out"])

    def _choose(self, final, shape, dtype, holder, temps):
        if "out" not in holder and (final or (shape, dtype) == (self.shape, self.dtype)):
            return "out"
        for i, spec in enumerate(temps):
            if f"t{i}" not in holder and spec == (shape, dtype):
                return f"t{i}"
        temps.append((shape, dtype))
        return f"t{len(temps) - 1}"

    @staticmethod
    def _release(values, where, holder):
        for v in values:
            reg = "out" if v == "inputs" else where.get(v)
            if reg is not None and holder.get(reg) == v:
                del holder[reg]

    def compile(self, kernels, xp):
        ns = {f"k{j}": k for j, k in enumerate(kernels)}
        self.temps = [xp.empty(s, d) for s, d in self.temps_spec]
        ns.update({f"t{i}": t for i, t in enumerate(self.temps)})
        exec(compile(self.source, "<graphflow fused kernel>", "exec"), ns)
        self.fn = ns["fused"]
        return self


def fused_kernel(op: Fused, input_types, origin, xp):
    """``run(*inputs, out=None)`` for ``op``; ``run.plans`` maps signatures to plans."""
    subs = _sub_nodes(op.steps, input_types, origin)
    kernels = []
    for node in subs:
        factory = KERNELS.lookup(type(node.op))
        if factory is None:
            raise NotImplementedError(f"no kernel for {type(node.op).__name__} inside {origin.where()}")
        kernels.append(factory(node.op, node, xp))
    safe = [alias_safe(node.op) for node in subs]
    dtypes = [node.outputs[0].dtype for node in subs]
    plans: dict = {}

    def plan_for(args):
        key = tuple([a.shape for a in args])
        plan = plans.get(key)
        if plan is None:
            if len(plans) >= MAX_PLANS:
                plans.pop(next(iter(plans)))
            plan = plans[key] = _Plan(op, safe, dtypes, key).compile(kernels, xp)
        return plan

    def run(*args, out=None):
        plan = plan_for(args)
        if out is None:
            out = xp.empty(plan.shape, plan.dtype)
        return plan.fn(*args, out)

    run.plans, run.plan_for = plans, plan_for
    return run


@KERNELS.register(Fused)
def fused(op, node, xp):
    return fused_kernel(op, [t.type for t in node.inputs], node, xp)


@KERNELS.register(FusedEpilogue)
def fused_epilogue(op, node, xp):
    """The head (conv2d, matmul) returns a fresh array; the epilogue runs in place on it
    when it may (its first step is the head result's one reader, same shape and dtype)."""
    k = op.n_head_inputs
    (head_node,) = _sub_nodes([(op.head, tuple(range(k)))], [t.type for t in node.inputs[:k]], node)
    head = KERNELS.lookup(type(op.head))(op.head, head_node, xp)
    epi_types = [head_node.outputs[0].type] + [t.type for t in node.inputs[k:]]
    epilogue = fused_kernel(op.epilogue, epi_types, node, xp)
    inplace = op.epilogue.inplace_ok(0)

    def run(*args, out=None):
        h = head(*args[:k])
        rest = args[k:]
        if out is None and inplace:
            plan = epilogue.plan_for((h,) + rest)
            if plan.shape == h.shape and plan.dtype == h.dtype:
                out = h
        return epilogue(h, *rest, out=out)

    run.plans = epilogue.plans
    return run
