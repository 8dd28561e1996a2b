"""What the compiler did, for ``f.report()``: per pass, nodes before -> after, rewrites
fired and time; per rule, what it rewrote (before -> after, with the user's line); any
pass or rule that failed (and was skipped), and rules that declined for a reason; then
the kernels, and the static peak-memory and FLOP estimates of the schedule for the
shapes of the last call (or shapes you give)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..graph.types import format_shape


@dataclass
class PassRecord:
    name: str
    nodes_before: int
    nodes_after: int
    seconds: float
    fired: dict = field(default_factory=dict)
    failed: str | None = None   # the traceback, when the pass raised and was skipped


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def human_flops(n: float) -> str:
    for unit in ("", "k", "M", "G", "T"):
        if abs(n) < 1000 or unit == "T":
            return f"{n:.0f} FLOP" if unit == "" else f"{n:.2f} {unit}FLOP"
        n /= 1000


@dataclass
class CompileReport:
    """Filled in by ``compile_program``; ``format()`` renders it."""
    level: str
    backend: str = ""
    passes: list = field(default_factory=list)
    kernels: dict = field(default_factory=dict)   # op name -> count in the schedule
    examples: dict = field(default_factory=dict)  # rule -> [(before, after, user line)]
    failures: list = field(default_factory=list)  # rules.Failure, for rules that failed
    declines: dict = field(default_factory=dict)  # rule -> [(where, reason)]
    bodies: list = field(default_factory=list)    # (loop label, site, [Body], [CompileReport])
    estimator: object = None   # fn({placeholder: shape} | None) -> (shapes, memory dict, flops)
    settings: dict = field(default_factory=dict)  # what the kernels were made with ("conv precision")

    def absorb(self, ctx) -> None:
        """Take over what one pass's rewrite context recorded."""
        for rule, kept in ctx.examples.items():
            self.examples.setdefault(rule, []).extend(kept)
        self.failures.extend(ctx.failures)
        for rule, items in ctx.declines.items():
            self.declines.setdefault(rule, []).extend(items)

    @property
    def failed_passes(self) -> list:
        return [p.name for p in self.passes if p.failed]

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.passes)

    def fired(self) -> dict:
        """Every rewrite that fired, over all passes: ``{name: count}``."""
        out: dict = {}
        for p in self.passes:
            for k, v in p.fired.items():
                out[k] = out.get(k, 0) + v
        return out

    def format(self, shapes=None) -> str:
        """The report as text; ``shapes``: ``{placeholder or its name: shape}`` for the
        estimates (``Function.report`` passes the shapes of its last call)."""
        settings = "".join(f", {k} {v}" for k, v in self.settings.items())
        lines = [f"compile report: optimize={self.level}, backend {self.backend}{settings}, "
                 f"{1e3 * self.seconds:.1f} ms",
                 f"  {'pass':<13}{'nodes':>15} {'time':>10}   rewrites fired"]
        for p in self.passes:
            fired = ", ".join(f"{k}×{v}" for k, v in sorted(p.fired.items(), key=lambda kv: -kv[1]))
            status = "FAILED (skipped; see the warning's traceback)  " if p.failed else ""
            lines.append(f"  {p.name:<13}{p.nodes_before:>6} -> {p.nodes_after:<6}"
                         f"{1e3 * p.seconds:>8.2f} ms   {status}{fired}")
        lines.extend(self._rules())
        kernels = ", ".join(f"{k}×{v}" for k, v in sorted(self.kernels.items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"  kernels ({sum(self.kernels.values())}): {kernels}")
        lines.extend(self._loops())
        lines.extend(self._estimates(shapes))
        return "\n".join(lines)

    def _loops(self, indent="  ") -> list:
        """Per loop or branch: each body's compilation (nodes, fusion, kernels), what was
        hoisted out of it (computed once) and pushed out (computed for all steps at once)."""
        lines = []
        for label, site, subs, reports in self.bodies:
            lines.append(f"{indent}{label} (made at {site}):")
            for body, rep in zip(subs, reports):
                first, last = (rep.passes[0], rep.passes[-1]) if rep.passes else (None, None)
                nodes = f"{first.nodes_before} -> {last.nodes_after} nodes" if first else "no nodes"
                fired = ", ".join(f"{k}×{v}" for k, v in sorted(rep.fired().items(), key=lambda kv: -kv[1]))
                kern = ", ".join(f"{k}×{v}" for k, v in sorted(rep.kernels.items(), key=lambda kv: (-kv[1], kv[0])))
                lines.append(f"{indent}  {body.name}: {nodes}; rewrites: {fired or 'none'}; kernels: {kern or 'none'}")
                for what, items in (("hoisted (computed once, before the loop)", body.hoisted),
                                    ("pushed out (computed for all steps at once)", getattr(body, "pushed", ()))):
                    if items:
                        lines.append(f"{indent}    {what}: " + "; ".join(items))
                lines.extend(rep._loops(indent + "    "))
        return lines

    def _rules(self) -> list:
        lines = []
        if self.examples:
            lines.append("  what the rules rewrote (first examples):")
            for rule, kept in sorted(self.examples.items()):
                for before, after, site in kept:
                    lines.append(f"    {rule}: {before} -> {after}   ({site})")
        for f in self.failures:
            lines.append(f"  FAILED rule `{f.rule}` (declared at {f.declared or '?'}) on {f.where}: {f.problem}")
        for rule, items in sorted(self.declines.items()):
            for where, reason in items[:3]:
                lines.append(f"  {rule} declined on {where}: {reason}")
        return lines

    def _estimates(self, shapes) -> list:
        if self.estimator is None:
            return []
        feeds, mem, total = self.estimator(shapes)
        if mem is None:
            return ["  estimates: call the function once (or pass shapes=) to know its shapes"]
        at = ", ".join(f"{ph.name}={format_shape(s)}" for ph, s in feeds.items()) or "no inputs"
        return [f"  for {at}:",
                f"    peak memory ≈ {human_bytes(mem['peak'])}: planned buffers {human_bytes(mem['arena'])} "
                f"({mem['buffers']} buffers for {mem['planned']} values), other intermediates "
                f"{human_bytes(mem['transient'])} at peak, inputs/state/constants {human_bytes(mem['sources'])}, "
                f"kernel scratch {human_bytes(mem.get('scratch', 0))} (the largest call); "
                f"all intermediates without reuse {human_bytes(mem['no_reuse'])}",
                f"    compute ≈ {human_flops(total)}"]
