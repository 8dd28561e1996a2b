"""The rewrite engine: small declared rewrites, applied bottom-up to a fixed point.

Nodes are hash-consed and immutable, so the compiler never edits a graph: it rebuilds
the part above a replacement (``apply`` with the new inputs finds or makes each node),
the tinygrad ``graph_rewrite`` way. A rewrite is a function of one node::

    @CANONICALIZE.rewrite(Neg)
    def neg_neg(node, ctx):
        '''--x = x'''
        (x,) = node.inputs
        return x.node.inputs[0] if x.node is not None and isinstance(x.node.op, Neg) else None

It returns the tensors that replace the node's outputs (one tensor for a one-output
node), or ``None``. The engine checks every replacement has the replaced type, gives the
nodes a rewrite makes the user's ``file:line`` and scope of the node they replace, counts
what fired, and treats a rewrite that raises as a bug: with ``GRAPHFLOW_STRICT_REWRITES=1``
it raises, otherwise the rewrite is skipped with one warning naming it.
"""
from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass, field

from ..graph import apply
from ..graph import node as _node_module
from ..graph.node import unique_name

MAX_SWEEPS = 8          # whole-graph sweeps per group before giving up on a fixed point
CAP_PER_NODE = 8        # rewrites fired per node of the graph, then the driver stops firing
_warned: set = set()    # rewrites that already warned in this process


class RewriteError(RuntimeError):
    """A rewrite raised or returned something of the wrong type (a compiler bug)."""


def strict_rewrites() -> bool:
    """Whether rewrite failures raise (tests set ``GRAPHFLOW_STRICT_REWRITES=1``)."""
    return os.environ.get("GRAPHFLOW_STRICT_REWRITES", "") not in ("", "0")


@dataclass
class Rewrite:
    """One declared rewrite: ``fn(node, ctx)`` for nodes whose op is an ``op_types``."""
    name: str
    op_types: tuple
    fn: object
    doc: str = ""


class RewriteGroup:
    """A named, ordered set of rewrites applied together (``canonicalize``, ``stabilize``...)."""

    def __init__(self, name: str, doc: str = ""):
        self.name, self.doc = name, doc
        self.rules: list = []
        self._by_type: dict = {}

    def rewrite(self, *op_types, name=None):
        """Decorator: ``@GROUP.rewrite(Mul)`` registers ``fn(node, ctx)`` for Mul nodes."""
        def deco(fn):
            self.add(Rewrite(name or fn.__name__, tuple(op_types), fn, (fn.__doc__ or "").strip()))
            return fn
        return deco

    def pattern(self, pattern: str, build, name=None, doc=""):
        """A one-line rule: ``GROUP.pattern("neg(neg(x))", lambda x: x)``; see patterns.py."""
        from .patterns import pattern_rewrite
        self.add(pattern_rewrite(pattern, build, name, doc))

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
class Context:
    """What a rewrite may consult: the backend compiled for, the level, and counters."""
    backend: object = None
    level: str = "O2"
    strict: bool = field(default_factory=strict_rewrites)
    fired: Counter = field(default_factory=Counter)
    budget: int = 0  # rewrites the driver may still fire in this group
    memo: dict = field(default_factory=dict)  # facts about (immutable) tensors, e.g. shape proofs

    def failed(self, rule_name: str, where: str, problem: str, exc: Exception | None = None):
        """A rewrite misbehaved: raise when strict, else warn once and carry on without it."""
        msg = f"rewrite `{rule_name}` failed on {where}: {problem}"
        if self.strict:
            raise RewriteError(msg) from exc
        if rule_name not in _warned:
            _warned.add(rule_name)
            warnings.warn(msg + " (skipped; the graph is compiled without it)", RuntimeWarning, stacklevel=2)


# ---------------------------------------------------------------- provenance
def id_marker() -> int:
    """An id below every node made from now on (node ids only grow)."""
    return next(_node_module._ids)


def adopt(tensors, origin, marker: int) -> None:
    """Give the nodes made after ``marker`` behind ``tensors`` the user site, scope and
    tags of ``origin``, so errors from the optimised graph point at the user's code."""
    stack = [t.node for t in tensors if t.node is not None and t.node.id > marker]
    seen = set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        n.site, n.scope = origin.site, origin.scope
        if origin.scope and not n.name.startswith(origin.scope + "/"):
            n.name = unique_name(f"{origin.scope}/{n.op.op_name()}")
        if origin.tags and not n.tags:
            n.tags = dict(origin.tags)
        stack.extend(t.node for t in n.inputs if t.node is not None and t.node.id > marker)


def rebuild(node, inputs):
    """``node``'s op on new ``inputs`` (found or made); a new node inherits node's site,
    scope and (numbered) name."""
    marker = id_marker()
    outs = apply(node.op, inputs)
    new = outs[0].node
    if new.id > marker:
        adopt(outs, node, marker)
        new.name = unique_name(node.name)
    return new


def check_replacement(rule_name, node, result, ctx):
    """``result`` as a tuple matching node's outputs in number and type, or None."""
    if result is None:
        return None
    result = (result,) if not isinstance(result, (list, tuple)) else tuple(result)
    if len(result) != len(node.outputs):
        ctx.failed(rule_name, node.where(), f"returned {len(result)} tensors for {len(node.outputs)} outputs")
        return None
    for new, old in zip(result, node.outputs):
        if getattr(new, "type", None) != old.type:
            ctx.failed(rule_name, node.where(), f"replaced {old.type} by {getattr(new, 'type', new)}")
            return None
    if all(a is b for a, b in zip(result, node.outputs)):
        return None
    return result


def _try_rules(node, rules, ctx):
    for rule in rules:
        if ctx.budget <= 0:
            return None
        marker = id_marker()
        try:
            result = rule.fn(node, ctx)
        except RewriteError:
            raise
        except Exception as exc:  # a rewrite that raises is a bug: say which one
            ctx.failed(rule.name, node.where(), f"{type(exc).__name__}: {exc}", exc)
            continue
        result = check_replacement(rule.name, node, result, ctx)
        if result is not None:
            adopt(result, node, marker)
            ctx.fired[rule.name] += 1
            ctx.budget -= 1
            return result
    return None


# ---------------------------------------------------------------- drivers
_VISIT, _READY, _FINISH = 0, 1, 2  # stack states: look at inputs, build, take a result


def substitute(outputs, expand=None, sources=None, rules=None, ctx=None) -> list:
    """Rebuild the graph of ``outputs`` bottom-up and return the new outputs.

    - ``sources``: ``{source: tensor}`` replacements for placeholders/variables/constants;
    - ``expand(node)``: ``None``, or ``(deps, build)`` to replace ``node`` wholesale:
      ``deps`` are old tensors it needs, ``build(resolved deps)`` returns the replacement
      tensors (the fusion pass replaces a group's root this way; its members are never
      visited);
    - ``rules(op_type)``: rewrites tried on each rebuilt node; their results are rebuilt
      and rewritten in turn, so one sweep leaves no local rewrite applicable below it.
    """
    done: dict = {}  # node -> its final output tensors (keys keep nodes alive: ids stay unique)
    sources = sources or {}

    def resolve(t):
        return sources.get(t, t) if t.node is None else done[t.node][t.index]

    stack = [(t.node, _VISIT, None) for t in reversed(list(outputs)) if t.node is not None]
    while stack:
        node, state, extra = stack.pop()
        if state == _FINISH:
            origin, result = extra
            final = tuple(resolve(t) for t in result)
            done[node] = final
            done.setdefault(origin, final)
            continue
        if node in done:
            continue
        if state == _VISIT:
            plan = expand(node) if expand is not None else None
            deps = plan[0] if plan is not None else node.inputs
            pending = [t.node for t in deps if t.node is not None and t.node not in done]
            stack.append((node, _READY, plan))
            stack.extend((n, _VISIT, None) for n in pending)
            continue
        if extra is not None:  # replaced wholesale
            deps, build = extra
            marker = id_marker()
            result = check_replacement("expand", node, build([resolve(t) for t in deps]), ctx or Context())
            if result is None:
                raise RewriteError(f"a whole-node replacement of {node.where()} did not fit")
            adopt(result, node, marker)
            done[node] = result
            continue
        inputs = [resolve(t) for t in node.inputs]
        cur = node if all(a is b for a, b in zip(inputs, node.inputs)) else rebuild(node, inputs)
        if cur is not node and cur in done:
            done[node] = done[cur]
            continue
        result = _try_rules(cur, rules(type(cur.op)), ctx) if rules is not None else None
        if result is None:
            done[node] = cur.outputs
            done[cur] = cur.outputs
            continue
        stack.append((node, _FINISH, (cur, result)))
        stack.extend((t.node, _VISIT, None) for t in result if t.node is not None and t.node not in done)
    return [resolve(t) for t in outputs]


def graph_rewrite(outputs, group: RewriteGroup, ctx: Context, n_nodes: int) -> list:
    """Apply ``group`` to the graph of ``outputs`` until nothing fires (or the cap is hit)."""
    ctx.budget = CAP_PER_NODE * n_nodes + 100
    for _ in range(MAX_SWEEPS):
        before = sum(ctx.fired.values())
        outputs = substitute(outputs, rules=group.rules_for, ctx=ctx)
        if sum(ctx.fired.values()) == before:
            break
        if ctx.budget <= 0:
            ctx.failed(group.name, "the graph", "the group hit its cap of rewrites (two rewrites "
                       "undoing each other?)")
            break
    return outputs
