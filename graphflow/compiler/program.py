"""Program: what the runtime executes — rewritten outputs and a flat schedule of nodes."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..graph import toposort


@dataclass
class PassRecord:
    name: str
    nodes_before: int
    nodes_after: int
    seconds: float
    fired: dict = field(default_factory=dict)


@dataclass
class CompileReport:
    level: str
    passes: list = field(default_factory=list)

    def format(self) -> str:
        lines = [f"compile report (optimize={self.level})"]
        for p in self.passes:
            fired = ", ".join(f"{k}×{v}" for k, v in sorted(p.fired.items()))
            lines.append(f"  {p.name:<12} {p.nodes_before:>6} -> {p.nodes_after:<6} "
                         f"{1e3 * p.seconds:8.2f} ms  {fired}")
        return "\n".join(lines)


@dataclass
class Program:
    """``outputs`` (user outputs then update values) and ``schedule`` (nodes in run order)."""
    outputs: list
    schedule: list
    report: CompileReport


def compile_program(outputs, backend, level="O2") -> Program:
    """Rewrite ``outputs`` for ``backend`` at ``level`` and schedule them."""
    t0 = time.perf_counter()
    schedule = toposort(outputs)
    report = CompileReport(level)
    report.passes.append(PassRecord("schedule", len(schedule), len(schedule), time.perf_counter() - t0))
    return Program(list(outputs), schedule, report)
