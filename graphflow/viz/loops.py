"""Loops and branches in pictures: a node that runs sub-graphs (``gf.scan``,
``gf.while_loop``, ``gf.cond``) draws as a cluster labelled with its kind, name and trip
count; inside it sit the loop's own box (where the outer arrows arrive) and one
sub-cluster per body, holding the body's graph — as written, or as compiled (fused,
hoisted) when the picture is of a compiled function's program. Nested loops nest."""
from __future__ import annotations

from ..graph import Constant, Source, toposort
from .labels import edge_label, value_text

PART_NAMES = {"Loop": ("body", "cond"), "Cond": ("true branch", "false branch")}


def trip_text(node) -> str:
    """The trip count as far as it is known before running: static, or ``T``."""
    op = node.op
    n = getattr(op, "n_steps", None)
    if getattr(op, "cond", None) is not None:
        return f"≤{n}" if n is not None else "T (until cond)"
    if n is not None:
        return str(n)
    for out, stacked in zip(node.outputs, getattr(op, "stacked", ())):
        if stacked and out.shape and out.shape[0] is not None:
            return str(out.shape[0])
    return "T"


def cluster_name(node) -> str:
    """A cluster label (no ``/``: that separates scopes)."""
    op = node.op
    kind = getattr(op, "kind", None) or op.op_name()
    name = getattr(op, "loop_name", None) or getattr(op, "cond_name", "")
    text = f"{kind} `{name}`" + (f" ×{trip_text(node)}" if type(op).__name__ == "Loop" else "")
    return text.replace("/", "∕")


def _scoped(scope: str, part: str) -> str:
    return f"{scope}/{part}" if scope else part


def draw_bodies(pic, nodes, programs_of, make_op_item, names, item_type, edge_type, grad_of) -> None:
    """Add every loop's (and branch's) body to ``pic``: items, arrows, clusters.
    ``programs_of(node)``: the compiled sub-programs of ``node`` or None (as written)."""
    todo = [(node, pic.key_of[id(node)]) for node in nodes if node.op.bodies()]
    while todo:
        node, key = todo.pop(0)
        owner = pic.items[key]
        loop_scope = _scoped(owner.scope, cluster_name(node))
        owner.scope = loop_scope
        progs = programs_of(node)
        parts = PART_NAMES.get(type(node.op).__name__, ())
        for b, body in enumerate(node.op.bodies()):
            part = parts[b] if b < len(parts) else f"body {b}"
            scope = _scoped(loop_scope, part)
            outs = list(progs[b].outputs) if progs else list(body.outputs)
            sched = list(progs[b].schedule) if progs else toposort(outs)
            local = {}

            def source_key(t, base=f"{key}.{b}", scope=scope, local=local):
                k = local.get(id(t))
                if k is None:
                    k = local[id(t)] = f"{base}.s{len(local)}"
                    kind = "constant" if isinstance(t, Constant) else "placeholder"
                    label = value_text(t.value) if isinstance(t, Constant) else t.name.rpartition("/")[2]
                    pic.items[k] = item_type(k, kind, scope, owner.grad, label or kind, [edge_label(t.type)],
                                             f"{kind} {t.type} of {part}", t)
                return k
            for j, inner in enumerate(sched):
                k = f"{key}.{b}.n{j}"
                item = make_op_item(k, inner, names)
                item.scope = scope
                item.grad = item.grad or owner.grad or grad_of(inner)
                pic.items[k] = item
                pic.key_of[id(inner)] = k
                if inner.op.bodies():
                    todo.append((inner, k))
            for j, inner in enumerate(sched):
                for t in inner.inputs:
                    src = source_key(t) if isinstance(t, Source) else pic.key_of[id(t.node)]
                    pic.edges.append(edge_type(src, f"{key}.{b}.n{j}", t))
            for i, t in enumerate(outs):
                k = f"{key}.{b}.out{i}"
                pic.items[k] = item_type(k, "output", scope, owner.grad, f"→ output {i}", [],
                                         f"{part} output {i}: {t.type}")
                src = source_key(t) if isinstance(t, Source) else pic.key_of[id(t.node)]
                pic.edges.append(edge_type(src, k, t))
