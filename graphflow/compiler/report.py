"""What the compiler did, for ``f.report()``: per pass, nodes before -> after, rewrites
fired and time; then the kernels, and the static peak-memory and FLOP estimates of the
schedule for the shapes of the last call (or shapes you give)."""
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
    estimator: object = None   # fn({placeholder: shape} | None) -> (shapes, memory dict, flops)
    last_shapes: object = None  # fn() -> {placeholder: shape} of the last call, set by the executor

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
        estimates (default: the shapes of the last call)."""
        lines = [f"compile report: optimize={self.level}, backend {self.backend}, "
                 f"{1e3 * self.seconds:.1f} ms",
                 f"  {'pass':<13}{'nodes':>15} {'time':>10}   rewrites fired"]
        for p in self.passes:
            fired = ", ".join(f"{k}×{v}" for k, v in sorted(p.fired.items(), key=lambda kv: -kv[1]))
            lines.append(f"  {p.name:<13}{p.nodes_before:>6} -> {p.nodes_after:<6}"
                         f"{1e3 * p.seconds:>8.2f} ms   {fired}")
        kernels = ", ".join(f"{k}×{v}" for k, v in sorted(self.kernels.items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"  kernels ({sum(self.kernels.values())}): {kernels}")
        lines.extend(self._estimates(shapes))
        return "\n".join(lines)

    def _estimates(self, shapes) -> list:
        if self.estimator is None:
            return []
        if shapes is None and self.last_shapes is not None:
            shapes = self.last_shapes()
        feeds, mem, total = self.estimator(shapes)
        if mem is None:
            return ["  estimates: call the function once (or pass shapes=) to know its shapes"]
        at = ", ".join(f"{ph.name}={format_shape(s)}" for ph, s in feeds.items()) or "no inputs"
        return [f"  for {at}:",
                f"    peak memory ≈ {human_bytes(mem['peak'])}: planned buffers {human_bytes(mem['arena'])} "
                f"({mem['buffers']} buffers for {mem['planned']} values), other intermediates "
                f"{human_bytes(mem['transient'])} at peak, inputs/state/constants {human_bytes(mem['sources'])}; "
                f"all intermediates without reuse {human_bytes(mem['no_reuse'])}",
                f"    compute ≈ {human_flops(total)}"]
