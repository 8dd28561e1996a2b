"""Program: what the runtime executes — rewritten outputs, a flat schedule of nodes and
its memory plan — and ``compile_program``, the pass pipeline that makes it.

Levels: ``O0`` schedules the graph as written; ``O1`` runs the cheap passes (prune,
constant folding, merge, canonicalise, stabilise); ``O2`` (the default) adds fusion and
the memory plan (in-place work, buffer reuse).
"""
from __future__ import annotations

import time
import traceback
import warnings
from dataclasses import dataclass

import numpy as np

from ..graph import Placeholder, Workspace, sources, toposort
from .canonicalize import CANONICALIZE
from .cost import flops_of
from .engine import graph_rewrite
from .rules import CompilerWarning, Context, RewriteError, strict_rewrites
from .fold import FOLD, PRUNE, merge_constants
from .fusion import fuse
from .loops import merge_loop_twins
from .memory import assign_buffers, memory_estimate, plan_memory
from .report import CompileReport, PassRecord
from .shapes import concrete_types, source_types
from .stabilize import STABILIZE


def _group_pass(group):
    def run(outputs, ctx, n):
        return graph_rewrite(outputs, group, ctx, n), dict(ctx.fired)
    run.__name__ = group.name
    return run


def _merge_pass(outputs, ctx, n):
    outputs, merged = merge_constants(outputs, toposort(outputs))
    outputs, twins = merge_loop_twins(outputs)
    fired = {"equal constants": merged, "loops run once for their gradient": twins}
    return outputs, {k: v for k, v in fired.items() if v}


def _fuse_pass(outputs, ctx, n):
    outputs, stats = fuse(outputs, ctx)
    return outputs, {k: v for k, v in stats.items() if v}


PASSES = {
    "prune": _group_pass(PRUNE),
    "fold": _group_pass(FOLD),
    "merge": _merge_pass,
    "canonicalize": _group_pass(CANONICALIZE),
    "stabilize": _group_pass(STABILIZE),
    "fuse": _fuse_pass,
}
_CHEAP = ("prune", "fold", "merge", "canonicalize", "stabilize")
LEVELS = {"O0": (), "O1": _CHEAP, "O2": _CHEAP + ("fuse",)}
PLAN_BUFFERS = {"O0": False, "O1": False, "O2": True}


@dataclass
class Program:
    """``outputs`` (user outputs then update values), ``schedule`` (nodes in run order),
    ``report``; ``memory`` is the plan (liveness always; planned buffers at O2) and
    ``plan_buffers`` whether the executor hands planned buffers to kernels."""
    outputs: list
    schedule: list
    report: CompileReport
    memory: object = None
    plan_buffers: bool = False
    bodies: dict = None   # node -> [Program per sub-graph] for nodes that run sub-graphs (loops)
    backend: object = None      # asked for its kernels' scratch (``KernelSpec.scratch_bytes``)

    def placeholders(self) -> list:
        return [s for s in sources(self.outputs) if isinstance(s, Placeholder)]

    def estimate(self, shapes=None):
        """``(feeds, memory dict, flops)`` for ``shapes`` (``{placeholder or name: shape}``);
        memory is None when a placeholder's shape is not fully known."""
        phs = self.placeholders()
        shapes = {(k if isinstance(k, str) else k.name): tuple(v) for k, v in (shapes or {}).items()}
        feeds = {ph: shapes.get(ph.name, ph.shape) for ph in phs}
        if any(d is None for s in feeds.values() for d in s):
            return feeds, None, None
        types = concrete_types(self.schedule, source_types(sources(self.outputs), feeds))
        assignment = assign_buffers(self.memory, types) if self.plan_buffers else None
        mem = memory_estimate(self.memory, types, assignment)
        mem["scratch"] = kernel_scratch(self.schedule, types, self.backend)
        mem["peak"] += mem["scratch"]
        return feeds, mem, flops_of(self.schedule, types)


def kernel_scratch(schedule, types, backend) -> int:
    """The most work memory one kernel of ``schedule`` holds at once, as the backend's
    kernels declare it (``KernelSpec.scratch_bytes``; a fused conv/matmul + tail asks
    its head). Kernels run one at a time, so the largest is what adds to the peak."""
    if backend is None:
        return 0
    most = 0
    for node in schedule:
        op, inputs = node.op, node.inputs
        head = getattr(op, "head", None)
        if head is not None:  # FusedEpilogue: the head's kernel holds the scratch
            op, inputs = head, inputs[:op.n_head_inputs]
        spec = backend.kernel_spec(op)
        count = spec is not None and spec.scratch_bytes is not None
        shapes = [types[t].shape for t in inputs] if count else ()
        if count and all(d is not None for s in shapes for d in s):
            itemsize = np.dtype(types[node.outputs[0]].dtype).itemsize
            most = max(most, int(spec.scratch_bytes(op, shapes, itemsize, backend.xp)))
    return most


def _run_pass(name, outputs, ctx, report, n_before):
    t0 = time.perf_counter()
    failed = None
    try:
        new, fired = PASSES[name](outputs, ctx, n_before)
    except RewriteError:
        raise
    except Exception as exc:  # a broken pass must not break the user's program, nor hide
        if ctx.strict:
            raise
        failed = "".join(traceback.format_exception(exc))
        warnings.warn(f"compiler pass `{name}` failed and was skipped; the program is compiled without "
                      f"it (please report this):\n{failed}", CompilerWarning, stacklevel=4)
        new, fired = outputs, {}
    n_after = n_before if all(a is b for a, b in zip(new, outputs)) else len(toposort(new))
    report.passes.append(PassRecord(name, n_before, n_after, time.perf_counter() - t0, fired, failed))
    report.absorb(ctx)
    return new, n_after


def compile_program(outputs, backend, level="O2", skip=()) -> Program:
    """Rewrite ``outputs`` for ``backend`` at ``level`` (``O0``/``O1``/``O2``) and schedule them;
    passes named in ``skip`` are left out (``check_numerics`` skips ``fuse`` so that every
    op is checked on its own and an error names the very op).

    >>> prog = compile_program([y], gf.backends.get_backend(), "O2"); print(prog.report.format())
    """
    if level not in LEVELS:
        raise ValueError(f"optimize must be one of {tuple(LEVELS)}, got {level!r}")
    report = CompileReport(level, getattr(backend, "name", str(backend)))
    outputs = list(outputs)
    strict = strict_rewrites()
    n = len(toposort(outputs))
    with Workspace().active():  # the compiler's own nodes: the user's graph stays as it is
        for name in (p for p in LEVELS[level] if p not in skip):
            ctx = Context(backend=backend, level=level, strict=strict)
            outputs, n = _run_pass(name, outputs, ctx, report, n)
    t0 = time.perf_counter()
    schedule = toposort(outputs)
    memory = plan_memory(schedule, outputs, backend if PLAN_BUFFERS[level] else None)
    fired = {"in-place candidates": memory.inplace_pairs()} if PLAN_BUFFERS[level] else {}
    report.passes.append(PassRecord("schedule", len(schedule), len(schedule), time.perf_counter() - t0, fired))
    for node in schedule:
        report.kernels[node.op.op_name()] = report.kernels.get(node.op.op_name(), 0) + 1
    bodies = _compile_bodies(schedule, backend, level, skip, report)
    program = Program(outputs, schedule, report, memory, PLAN_BUFFERS[level], bodies=bodies, backend=backend)
    report.estimator = program.estimate
    return program


def _compile_bodies(schedule, backend, level, skip, report) -> dict:
    """Each sub-graph of a loop or branch, compiled by this same pipeline (folding, CSE,
    fusion, memory plan); their reports join the outer one."""
    bodies = {}
    for node in schedule:
        subs = node.op.bodies()
        if subs:
            progs = [compile_program(b.outputs, backend, level, skip) for b in subs]
            bodies[node] = progs
            report.bodies.append((node.op.label(), node.site, subs, [p.report for p in progs]))
    return bodies
