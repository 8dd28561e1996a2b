"""The rewrite base types every pass shares: ``Rewrite``, ``RewriteGroup`` and the
``Context`` a rewrite runs in (what fired, what failed, what was declined and why).

The engine (``engine.py``) applies groups; pattern rules (``patterns.py``) build
``Rewrite``s; both import this module and nothing imports them back.

A rewrite that raises, or returns a tensor of the wrong type, is a compiler bug. With
``GRAPHFLOW_STRICT_REWRITES=1`` (the test suite sets it) it raises ``RewriteError``;
otherwise the graph is compiled without that rewrite, and the failure stays visible: a
``CompilerWarning`` names the rule, where it is declared, the node and the user's line,
and carries the traceback, and ``f.report()`` lists it.
"""
from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field

EXAMPLES_KEPT = 3  # before -> after examples the report keeps per rule


class RewriteError(RuntimeError):
    """A rewrite raised or returned something of the wrong type (a compiler bug)."""


class CompilerWarning(RuntimeWarning):
    """A compiler pass or rewrite failed; the program was compiled without it."""


def strict_rewrites() -> bool:
    """Whether rewrite failures raise (tests set ``GRAPHFLOW_STRICT_REWRITES=1``)."""
    return os.environ.get("GRAPHFLOW_STRICT_REWRITES", "") not in ("", "0")


def declared_at(depth: int = 2) -> str:
    """``file:line`` of the caller ``depth`` frames up (where a rule is declared)."""
    frame = sys._getframe(depth)
    return f"{os.path.relpath(frame.f_code.co_filename)}:{frame.f_lineno}"


@dataclass
class Rewrite:
    """One declared rewrite: ``fn(node, ctx)`` for nodes whose op is an ``op_types``;
    ``where`` is the rule's own ``file:line``."""
    name: str
    op_types: tuple
    fn: object
    doc: str = ""
    where: str = ""


class RewriteGroup:
    """A named, ordered set of rewrites applied together (``canonicalize``, ``stabilize``...)."""

    def __init__(self, name: str, doc: str = ""):
        self.name, self.doc = name, doc
        self.rules: list = []
        self._by_type: dict = {}

    def rewrite(self, *op_types, name=None):
        """Decorator: ``@GROUP.rewrite(Mul)`` registers ``fn(node, ctx)`` for Mul nodes."""
        def deco(fn):
            code = fn.__code__
            self.add(Rewrite(name or fn.__name__, tuple(op_types), fn, (fn.__doc__ or "").strip(),
                             f"{os.path.relpath(code.co_filename)}:{code.co_firstlineno}"))
            return fn
        return deco

    def pattern(self, pattern, build, where=None, name=None, doc=""):
        """A pattern rule: ``GROUP.pattern(Pat(Neg, Pat(Neg, x)), lambda x: x)``; see
        patterns.py. ``where(**bindings) -> bool`` is an extra condition."""
        from .patterns import pattern_rewrite
        self.add(pattern_rewrite(pattern, build, where=where, name=name, doc=doc, at=declared_at(2)))

    def add(self, rule: Rewrite):
        if any(r.name == rule.name for r in self.rules):
            raise ValueError(f"rewrite group `{self.name}` already has a rewrite named `{rule.name}`")
        self.rules.append(rule)
        self._by_type.clear()

    def rules_for(self, op_type) -> tuple:
        found = self._by_type.get(op_type)
        if found is None:
            mro = op_type.__mro__
            found = self._by_type[op_type] = tuple(
                r for r in self.rules if any(t in mro for t in r.op_types))
        return found


@dataclass
class Failure:
    """A rule or pass that failed: its name, where it is declared, what it was doing, and
    the traceback (None when it returned a wrong result rather than raising)."""
    rule: str
    declared: str
    where: str
    problem: str
    traceback: str | None = None


@dataclass
class Context:
    """What a rewrite may consult: the backend compiled for, the level, and the record of
    what fired (with a few before -> after examples per rule), failed, or was declined."""
    backend: object = None
    level: str = "O2"
    strict: bool = field(default_factory=strict_rewrites)
    fired: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)   # rule -> [(before, after, user line)]
    failures: list = field(default_factory=list)
    declines: dict = field(default_factory=dict)   # rule -> [(node, reason)]
    budget: int = 0  # rewrites the driver may still fire in this group
    memo: dict = field(default_factory=dict)  # facts about (immutable) tensors, e.g. shape proofs

    def record(self, rule: Rewrite, node, result) -> None:
        self.fired[rule.name] += 1
        kept = self.examples.setdefault(rule.name, [])
        if len(kept) < EXAMPLES_KEPT:
            after = ", ".join(_describe(t) for t in result)
            kept.append((_describe(node.outputs[0]) if len(node.outputs) == 1 else node.op.label(), after,
                         node.site))

    def failed(self, rule: Rewrite | str, node_where: str, problem: str, exc: Exception | None = None):
        """A rewrite misbehaved: raise when strict, else warn (with the traceback) and
        carry on without it."""
        name = rule if isinstance(rule, str) else rule.name
        declared = "" if isinstance(rule, str) else rule.where
        tb = "".join(traceback.format_exception(exc)) if exc is not None else None
        at = f" (declared at {declared})" if declared else ""
        msg = f"rewrite `{name}`{at} failed on {node_where}: {problem}"
        if self.strict:
            raise RewriteError(msg) from exc
        self.failures.append(Failure(name, declared, node_where, problem, tb))
        if sum(f.rule == name for f in self.failures) > 1:
            return  # one warning per rule per pass; the report lists every failure
        warnings.warn(msg + " (skipped; the graph is compiled without it)" + (f"\n{tb}" if tb else ""),
                      CompilerWarning, stacklevel=2)

    def declined(self, rule: str, node, reason) -> None:
        """A rule that chose not to fire for a reason worth reporting (e.g. folding a
        constant expression whose op rejects the values: the call will raise it)."""
        self.declines.setdefault(rule, []).append((node.where(), f"{type(reason).__name__}: {reason}"))


def _describe(t) -> str:
    node = t.node
    if node is None:
        return t.name
    return node.op.label()
