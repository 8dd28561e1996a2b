"""The rewrite engine: small declared rewrites, applied bottom-up to a fixed point.

Nodes are hash-consed and immutable, so the compiler never edits a graph: it rebuilds
the part above a replacement (``apply`` with the new inputs finds or makes each node),
the tinygrad ``graph_rewrite`` way. Everything it makes goes into the compilation's
``Workspace`` (see graphflow/graph/node.py): the user's graph, names and merge table are
never touched, and a node made while rewriting ``node`` takes ``node``'s site, scope and
tags (a rebuilt node of the same op also keeps its name). A rewrite is a function of one
node::

    @CANONICALIZE.rewrite(Neg)
    def neg_neg(node, ctx):
        '''--x = x'''
        (x,) = node.inputs
        return x.node.inputs[0] if x.node is not None and isinstance(x.node.op, Neg) else None

It returns the tensors that replace the node's outputs (one tensor for a one-output
node), or ``None``. The engine checks every replacement has the replaced type, counts
what fired (with examples for the report), and treats a rewrite that raises as a bug
(see rules.py).
"""
from __future__ import annotations

import contextlib

from ..graph import Workspace, active_workspace, apply
from .rules import Context, RewriteError, RewriteGroup  # noqa: F401  (RewriteGroup: annotations)

MAX_SWEEPS = 8          # whole-graph sweeps per group before giving up on a fixed point
CAP_PER_NODE = 8        # rewrites fired per node of the graph, then the driver stops firing


@contextlib.contextmanager
def workspace():
    """The active compilation workspace, or a fresh one for this call."""
    ws = active_workspace()
    if ws is not None:
        yield ws
        return
    with Workspace().active() as ws:
        yield ws


def rebuild(node, inputs):
    """``node``'s op on new ``inputs`` (found or made in the workspace, placed and named
    like ``node``)."""
    ws = active_workspace()
    with ws.building_for(node):
        return apply(node.op, inputs)[0].node


def check_replacement(rule, node, result, ctx):
    """``result`` as a tuple matching node's outputs in number and type, or None."""
    if result is None:
        return None
    result = (result,) if not isinstance(result, (list, tuple)) else tuple(result)
    if len(result) != len(node.outputs):
        ctx.failed(rule, node.where(), f"returned {len(result)} tensors for {len(node.outputs)} outputs")
        return None
    for new, old in zip(result, node.outputs):
        if getattr(new, "type", None) != old.type:
            ctx.failed(rule, node.where(), f"replaced {old.type} by {getattr(new, 'type', new)}")
            return None
    if all(a is b for a, b in zip(result, node.outputs)):
        return None
    return result


def _try_rules(node, rules, ctx):
    ws = active_workspace()
    for rule in rules:
        if ctx.budget <= 0:
            return None
        try:
            with ws.building_for(node):
                result = rule.fn(node, ctx)
        except RewriteError:
            raise
        except Exception as exc:  # a rewrite that raises is a bug: say which one
            ctx.failed(rule, node.where(), f"{type(exc).__name__}: {exc}", exc)
            continue
        result = check_replacement(rule, node, result, ctx)
        if result is not None:
            ctx.record(rule, node, result)
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
    with workspace():
        return _substitute(outputs, expand, sources or {}, rules, ctx or Context())


def _substitute(outputs, expand, sources, rules, ctx):
    done: dict = {}  # node -> its final output tensors
    ws = active_workspace()

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
            with ws.building_for(node):
                result = check_replacement("expand", node, build([resolve(t) for t in deps]), ctx)
            if result is None:
                raise RewriteError(f"a whole-node replacement of {node.where()} did not fit")
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
    with workspace():
        return _to_fixed_point(outputs, group, ctx)


def _to_fixed_point(outputs, group, ctx) -> list:
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
