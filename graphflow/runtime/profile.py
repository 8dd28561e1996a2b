"""Per-op profiles of compiled functions: where a step's time and memory go.

    >>> prof = train.profile(x_batch, y_batch, repeat=5)   # real calls: updates apply
    >>> print(prof)                                        # per op type, then the top nodes

Or set ``GRAPHFLOW_PROFILE=1``: every function profiles every call and the tables are
printed when the process exits. Keras's ``fit(..., profile=True)`` prints the training
function's profile after the first epoch.

Each kernel is timed from the end of the previous one (the backend is synchronised
first, so a GPU's queued work is counted where it runs). Achieved GFLOP/s come from
each op's declared ``flops``; "allocated" counts the fresh arrays kernels returned
(planned buffers and views allocate nothing), per call.
"""
from __future__ import annotations

import atexit
import os
import sys
import time
from dataclasses import dataclass, field

from ..graph import TensorType

_HEAVY = ("matmul", "conv2d", "conv2d_backprop_input", "conv2d_backprop_filter", "fused_epilogue")


@dataclass
class _Row:
    calls: int = 0
    seconds: float = 0.0
    flops: int = 0
    allocated: int = 0


@dataclass
class Profile:
    """What the profiled calls of one function did, per op type and per node."""
    name: str
    calls: int = 0
    seconds: float = 0.0
    by_op: dict = field(default_factory=dict)     # op name -> _Row
    by_node: dict = field(default_factory=dict)   # (step index, node) -> _Row
    compile_seconds: float = 0.0
    jit: dict = field(default_factory=dict)       # compiled loops: name -> {"seconds", "cache"}

    # ------------------------------------------------------------ collecting
    def watch(self, function, inner=None):
        """A watch for one call (the executor calls it after every step)."""
        backend = function.backend
        self.calls += 1
        clock = [time.perf_counter()]

        def watch(k, node, value, args, buf=None):
            if inner is not None:
                inner(k, node, value, args, buf)
            if isinstance(value, tuple):  # a multi-output kernel: its picks follow
                return
            backend.synchronize()
            now = time.perf_counter()
            dt, clock[0] = now - clock[0], now
            self._add(k, node, dt, _flops(node, args, value), _fresh_bytes(value, buf, args))
        return watch

    def _add(self, k, node, seconds, flops, allocated):
        self.seconds += seconds
        for row in (self.by_op.setdefault(_op_name(node), _Row()), self.by_node.setdefault((k, node), _Row())):
            row.calls += 1
            row.seconds += seconds
            row.flops += flops
            row.allocated += allocated

    # ------------------------------------------------------------ reading
    @property
    def seconds_per_call(self) -> float:
        return self.seconds / max(self.calls, 1)

    @property
    def allocated_per_call(self) -> float:
        return sum(r.allocated for r in self.by_op.values()) / max(self.calls, 1)

    def format(self, top: int = 12) -> str:
        from ..compiler.report import human_bytes
        per = self.seconds_per_call
        lines = [f"profile of {self.name}: {self.calls} call(s), {1e3 * per:.2f} ms per call in kernels, "
                 f"{human_bytes(self.allocated_per_call)} allocated per call (fresh kernel results)"]
        if self.jit:
            jits = ", ".join(f"{k} {1e3 * v['seconds']:.0f} ms ({v['cache']})" for k, v in sorted(self.jit.items()))
            lines.append(f"  compiled loops (first use: compile or load from disk cache): {jits}")
        lines.append(f"  {'op':<26}{'calls':>6}{'ms/call':>10}{'share':>8}{'GFLOP/s':>9}{'alloc/call':>12}")
        for name, row in sorted(self.by_op.items(), key=lambda kv: -kv[1].seconds):
            lines.append(self._line(name, row))
        lines.append(f"  top {top} nodes of the schedule:")
        for (k, node), row in sorted(self.by_node.items(), key=lambda kv: -kv[1].seconds)[:top]:
            where = f"{node.op.label()} [{node.scope or 'top'}] {node.site.rsplit('/', 1)[-1]}"
            lines.append(self._line(f"#{k} {where}", row, width=60))
        return "\n".join(lines)

    def _line(self, name, row, width=26):
        from ..compiler.report import human_bytes
        calls = max(self.calls, 1)
        share = row.seconds / self.seconds if self.seconds else 0.0
        rate = f"{row.flops / row.seconds / 1e9:9.1f}" if row.flops and row.seconds and _heavy(name) else " " * 9
        return (f"  {name[:width]:<{width}}{row.calls // calls:>6}{1e3 * row.seconds / calls:>10.2f}"
                f"{100 * share:>7.1f}%{rate}{human_bytes(row.allocated / calls):>12}")

    def __str__(self):
        return self.format()


def _op_name(node) -> str:
    return node.op.op_name()


def _heavy(name: str) -> bool:
    return any(h in name for h in _HEAVY)


def _flops(node, args, value) -> int:
    try:
        ins = [TensorType(a.dtype.name, a.shape) for a in args]
        return int(node.op.flops(ins, [TensorType(value.dtype.name, value.shape)]))
    except (AttributeError, TypeError, ValueError):  # a non-array argument (a tuple pick)
        return 0


def _fresh_bytes(value, buf, args) -> int:
    """Bytes of a fresh array the kernel allocated (not a planned buffer, a view or an input)."""
    if buf is not None or getattr(value, "base", None) is not None or not hasattr(value, "nbytes"):
        return 0
    return 0 if any(value is a for a in args) else int(value.nbytes)


# ---------------------------------------------------------------- GRAPHFLOW_PROFILE=1
def profiling_by_default() -> bool:
    return os.environ.get("GRAPHFLOW_PROFILE", "") not in ("", "0")


_printed_at_exit: list = []


def print_at_exit(profile: Profile) -> None:
    """Print ``profile`` when the process exits (once per profile)."""
    if not _printed_at_exit:
        atexit.register(lambda: [print(p, file=sys.stderr) for p in _printed_at_exit if p.calls])
    _printed_at_exit.append(profile)
