"""Compiling fused ops: generated Python that calls each step's kernel with ``out=``.

This is the NumPy backend's ``compile_fused`` hook (``NumpyBackend.compile_fused``); the
step kernels come from the backend's own kernel table, so a backend that inherits this
hook and overrides a kernel gets its override inside fused groups too.

For each input-shape signature the kernel plans registers once: ``out`` (the result
buffer) and as few temporaries as the steps' shapes allow. A chain of N same-shaped
element-wise ops runs entirely in ``out`` (no temporary); a value that is needed while
another is computed takes one. A step whose kernel writes into ``out`` and may be given
its input as ``out`` (``KernelSpec.writes_out`` and ``inplace``) may write over an input
that dies there; any other kernel gets a register none of its inputs occupy, and its
result is copied there if it returned a different array. Everything is written against
``xp``.

    def fused(x0, x1, out, t0):          # tanh(x0 * x1 + x1), generated
        k0(x0, x1, out=out)
        k1(out, x1, out=out)
        k2(out, out=out)
        return out

Temporaries are per thread, so one compiled function may run in several threads at once.
"""
from __future__ import annotations

import threading

import numpy as np

from graphflow.graph import Tensor, TensorType
from graphflow.ops.fused import Fused, FusedEpilogue, step_type

from . import fused_blocks, fused_loops
from ._parallel import run_parts

MAX_PLANS = 32  # signatures (whole calls and blocks) whose generated code is kept


def fused_inplace(op: Fused, position: int) -> bool:
    """Whether the generated kernel's ``out`` may be input ``position``: only when the
    first step is that input's one reader, so the kernel is done with it before it
    writes anything else into ``out``."""
    return all(position not in refs for _, refs in op.steps[1:])


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


def _specs(table, nodes, origin):
    specs = []
    for node in nodes:
        spec = table.spec(type(node.op))
        if spec is None:
            raise NotImplementedError(f"no kernel for {type(node.op).__name__} inside {origin.where()}")
        specs.append(spec)
    return specs


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
        if any(fused_inplace(op, p) for p in range(n)):
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
        params = [f"x{i}" for i in range(n)] + ["out"] + [f"t{i}" for i in range(len(temps))]
        self.source = "\n".join([f"def fused({', '.join(params)}):"]
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
        exec(compile(self.source, "<graphflow fused kernel>", "exec"), ns)
        self.fn, self.xp, self.local = ns["fused"], xp, threading.local()
        return self

    def temps(self) -> list:
        """This thread's temporaries (made on its first call, then reused)."""
        temps = getattr(self.local, "temps", None)
        if temps is None:
            temps = self.local.temps = [self.xp.empty(s, d) for s, d in self.temps_spec]
        return temps


class _Route:
    """How calls of one input signature (shapes and contiguity of the inputs and of
    ``out``) run, decided on the first such call: one compiled numba loop over every
    core (``"loop"``), the generated Python over cache-sized blocks shared out over the
    cores (``"blocks"``), or the generated Python on the whole arrays (``"whole"``)."""

    __slots__ = ("kind", "plan", "loops")

    def __init__(self, kind, plan, loops):
        self.kind, self.plan, self.loops = kind, plan, loops

    def __repr__(self):
        return f"<fused route {self.kind} for {self.plan.shape}>"


def fused_kernel(op: Fused, input_types, origin, table, xp, cpu: bool = False):
    """``run(*inputs, out=None)`` for ``op`` with step kernels from ``table``; ``cpu``: host
    arrays (the NumPy backend's), which may take the numba loop or the blocked threads;
    ``run.plan_for(shapes)`` gives the plan of one input-shape signature and
    ``run.route_for(args, out)`` how a call on these arrays runs (both made once)."""
    subs = _sub_nodes(op.steps, input_types, origin)
    specs = _specs(table, subs, origin)
    kernels = [spec.factory(node.op, node, xp) for spec, node in zip(specs, subs)]
    safe = [spec.writes_out and all(spec.inplace(node.op, p) for p in range(len(node.inputs)))
            for spec, node in zip(specs, subs)]
    dtypes = [node.outputs[0].dtype for node in subs]
    plans: dict = {}
    routes: dict = {}
    lock = threading.Lock()

    def plan_for(key):
        plan = plans.get(key)
        if plan is None:
            with lock:
                plan = plans.get(key)
                if plan is None:
                    if len(plans) >= MAX_PLANS:
                        plans.pop(next(iter(plans)))
                    plan = plans[key] = _Plan(op, safe, dtypes, key).compile(kernels, xp)
        return plan

    loops: dict = {}  # input layout -> (compiled loop, which inputs are single values) or None

    def decide(args, out, plan) -> _Route:
        if cpu and out.size >= fused_blocks.MIN_ELEMENTS:
            if fused_loops.loop_for(op, args, out, dtypes, loops) is not None:
                return _Route("loop", plan, loops)
            if fused_blocks.block_view(args, out) is not None:
                return _Route("blocks", plan, None)
        return _Route("whole", plan, None)

    def route_for(args, out) -> _Route:
        key = tuple([(a.shape, a.flags.c_contiguous) for a in args]) + (out.shape, out.flags.c_contiguous)
        route = routes.get(key)
        if route is None:
            route = decide(args, out, plan_for(tuple([a.shape for a in args])))
            with lock:
                if len(routes) >= MAX_PLANS:
                    routes.pop(next(iter(routes)))
                routes[key] = route
        return route

    def run(*args, out=None):
        if out is None:
            plan = plan_for(tuple([a.shape for a in args]))
            out = xp.empty(plan.shape, plan.dtype)
        route = route_for(args, out)
        if route.kind == "loop":  # one compiled pass, over every core
            run_parts(fused_loops.loop_for(op, args, out, dtypes, loops), out.size, blas=False)
        elif route.kind == "blocks":
            fused_blocks.run_blocked(plan_for, *fused_blocks.block_view(args, out))
        else:
            route.plan.fn(*args, out, *route.plan.temps())
        return out

    run.plans, run.plan_for, run.route_for, run.routes = plans, plan_for, route_for, routes
    return run


def epilogue_kernel(op: FusedEpilogue, node, table, xp, cpu: bool = False):
    """The head (conv2d, matmul) computes into ``out`` when its kernel can, else into a
    fresh array; the epilogue then runs in place on that result when it may (its first
    step is the head result's one reader, and its result has the head's shape and dtype:
    nothing broadcasts it wider). ``cpu``: host arrays, as for ``fused_kernel``."""
    k = op.n_head_inputs
    (head_node,) = _sub_nodes([(op.head, tuple(range(k)))], [t.type for t in node.inputs[:k]], node)
    (head_spec,) = _specs(table, [head_node], node)
    head = head_spec.factory(op.head, head_node, xp)
    epi_types = [head_node.outputs[0].type] + [t.type for t in node.inputs[k:]]
    epilogue = fused_kernel(op.epilogue, epi_types, node, table, xp, cpu)
    inplace = fused_inplace(op.epilogue, 0)
    into_out = head_spec.writes_out and inplace
    fits: dict = {}  # input shapes -> (the head's result shape, or None if the epilogue's differs)

    def fits_head(args):
        key = tuple([a.shape for a in args])
        found = fits.get(key)
        if found is None:
            h = op.head.infer(*[TensorType(a.dtype.name, a.shape) for a in args[:k]])
            plan = epilogue.plan_for((h.shape,) + key[k:])
            found = fits[key] = h.shape if plan.shape == h.shape and plan.dtype == h.dtype else None
        return found

    blockwise = inplace and head_spec.takes_epilogue
    whole = getattr(op.head, "data_format", "channels_last") != "channels_last"  # one call, over everything

    def run(*args, out=None):
        rest = args[k:]
        shape = fits_head(args) if inplace else None
        if shape is not None:
            if blockwise and (out is None or into_out):
                cut = [False] * len(rest) if whole else _block_cuts(rest, shape)
                if cut is not None:  # the tail runs on each block the head writes, in cache
                    return head(*args[:k], out=out, epilogue=_on_blocks(epilogue, rest, cut))
            if out is None:
                out = head(*args[:k])
            elif into_out:
                head(*args[:k], out=out)
            else:
                return epilogue(head(*args[:k]), *rest, out=out)
            return epilogue(out, *rest, out=out)
        return epilogue(head(*args[:k]), *rest, out=out)

    run.plans = epilogue.plans
    return run


def _block_cuts(rest, shape):
    """For each epilogue input, whether a block of the head's result (of ``shape``; a
    block is a slice over its first two axes) takes the same slice of it (True) or all of
    it (False: it is broadcast over those axes); None when some input is neither."""
    cut = []
    for a in rest:
        lead = a.shape[:len(a.shape) - len(shape) + 2] if a.ndim > len(shape) - 2 else ()
        if all(d == 1 for d in lead):
            cut.append(False)
        elif a.ndim == len(shape) and a.shape[:2] == tuple(shape[:2]):
            cut.append(True)
        else:
            return None
    return cut


def _on_blocks(epilogue, rest, cut):
    """``fn(y, index)`` running the epilogue in place on ``y[index]``."""
    def fn(y, index):
        block = y[index]
        sub = [a[index] if c else a for a, c in zip(rest, cut)]
        plan = epilogue.plan_for(tuple([block.shape] + [a.shape for a in sub]))
        plan.fn(block, *sub, block, *plan.temps())
    return fn


def epilogue_writes_out(op: FusedEpilogue, table) -> bool:
    """Whether the epilogue kernel computes straight into a planned buffer: the head
    writes into ``out`` and the epilogue works in place on it."""
    spec = table.spec(type(op.head))
    return bool(spec is not None and spec.writes_out and fused_inplace(op.epilogue, 0))
