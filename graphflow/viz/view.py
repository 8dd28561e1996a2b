"""The picture's model: which values and ops a target shows, and what each is called.

Both renderers (DOT and text) read a ``Picture``. It is deterministic by construction:
ops are numbered by their position in topological (or, for a compiled function, run)
order and sources by first use, never by ``id()``; and names are drawn from each node's
``base`` (the name as asked for, before the process made it unique: a second
``placeholder(name="x")`` is named ``x_1`` but based ``x``), numbered again within the
picture, so equal graphs built twice give byte-identical output and a name the user chose,
such as ``x_1``, is shown as it is.

    >>> pic = build_picture(loss)                  # a tensor, a list, or a gf.function
    >>> [it.label for it in pic.items.values()][:2]
    ['x', 'w']
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import Constant, Placeholder, Source, Tensor, Variable, sources, toposort
from .loops import draw_bodies
from .labels import FUSED_LINES_SHOWN, edge_label, fused_lines, op_label, site_text, value_text

GRAD_MARK = "grad"  # the scope graphflow.autodiff makes gradient nodes in
LITERAL_MAX = 1     # constants this small are written on the arrow's tail, once per use


@dataclass
class Item:
    """One box: an op node, a source, a literal constant or an output marker."""
    key: str
    kind: str            # op | placeholder | variable | constant | literal | output
    scope: str
    grad: bool
    label: str
    lines: list = field(default_factory=list)   # extra lines under the label
    tooltip: str = ""
    obj: object = None   # the Node or Source behind it


@dataclass
class Edge:
    src: str
    dst: str
    tensor: Tensor
    kind: str = "data"   # data | update
    inplace: bool = False

    def label(self) -> str:
        node = self.tensor.node
        text = edge_label(self.tensor.type)
        return f"[{self.tensor.index}] {text}" if node is not None and self.tensor.index else text


@dataclass
class Picture:
    items: dict                  # key -> Item, in drawing order
    edges: list
    roots: list                  # output tensors, then update values
    outputs: list                # (tensor, output item key)
    updates: list                # (variable, value tensor)
    key_of: dict                 # id(Node or Source) -> item key

    def producer(self, t: Tensor) -> str:
        return self.key_of[id(t.node if t.node is not None else t)]


class _LocalNames:
    """Re-number names within one picture: the first ``x`` is ``x``, the next ``x_1``."""

    def __init__(self):
        self.counts: dict = {}

    def __call__(self, base: str) -> str:
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"


def resolve(target, optimized: bool):
    """``(roots, n_outputs, update variables, nodes in order, memory plan or None)``."""
    if hasattr(target, "program") and hasattr(target, "outputs"):  # a compiled Function
        outs = list(target.outputs)
        variables = [v for v, _ in getattr(target, "updates", [])]
        if optimized:
            program = target.program
            return list(program.outputs), len(outs), variables, list(program.schedule), \
                getattr(program, "memory", None)
        roots = outs + [e for _, e in target.updates]
        return roots, len(outs), variables, toposort(roots), None
    if optimized:
        raise ValueError("optimized=True draws the graph a compiled function runs; pass a "
                         "gf.function(...) (a tensor or a list of tensors is drawn as written)")
    roots = [target] if isinstance(target, Tensor) else list(target) if isinstance(target, (list, tuple)) else None
    if not roots or not all(isinstance(t, Tensor) for t in roots):
        raise TypeError(f"graphflow.viz draws a Tensor, a non-empty list of Tensors or a compiled "
                        f"Function; got {type(target).__name__}")
    return roots, len(roots), [], toposort(roots), None


def is_grad(node) -> bool:
    """Whether ``node`` belongs to a gradient sub-graph (made by gf.grad / gf.gradients)."""
    return GRAD_MARK in (node.scope or "").split("/") or bool(getattr(node, "tags", {}).get("grad"))


def _source_item(key, s: Source, names) -> Item:
    kind = "placeholder" if isinstance(s, Placeholder) else "variable" if isinstance(s, Variable) else "constant"
    scope, _, _ = s.name.rpartition("/")
    local = names(s.base).rpartition("/")[2]
    label = local
    if isinstance(s, Constant):
        label = value_text(s.value) or local
    trainable = " (not trainable)" if isinstance(s, Variable) and not s.trainable else ""
    tip = f"{scope + '/' if scope else ''}{local}: {kind}{trainable} {s.type}, made at {site_text(s.site)}"
    return Item(key, kind, scope, False, label, [edge_label(s.type)], tip, s)


def _op_item(key, node, names) -> Item:
    local = names(node.base).rpartition("/")[2]
    label = op_label(node)
    lines = fused_lines(node.op)
    base = node.base.rpartition("/")[2]
    title = [local] if base != node.op.op_name() else []  # a name the user gave
    cut = FUSED_LINES_SHOWN - 1
    shown = lines if len(lines) <= FUSED_LINES_SHOWN else lines[:cut] + [f"… {len(lines) - cut} more"]
    where = node.scope or "(top level)"
    tip = "\n".join([f"{label} in {where}, made at {site_text(node.site)}"] + lines)
    item = Item(key, "op", node.scope or "", is_grad(node), label, shown, tip, node)
    if title:
        item.label, item.lines = title[0], [label] + shown
    return item


def _inplace_pairs(memory) -> set:
    """``{(id(input tensor), id(node))}`` where the memory plan lets ``node`` write its
    result into that input's buffer. Read by duck typing: a plan without it shows none."""
    pairs = set()
    try:
        for v, takes in enumerate(memory.inplace):
            node = memory.values[v].node
            for u in takes:
                pairs.add((id(memory.values[u]), id(node)))
    except (AttributeError, IndexError, TypeError):
        return set()
    return pairs


def _is_literal(t: Tensor) -> bool:
    return isinstance(t, Constant) and t.value.size <= LITERAL_MAX


def build_picture(target, optimized: bool = False) -> Picture:
    """The ``Picture`` of ``target`` (a tensor, a list of tensors, or a compiled Function)."""
    roots, n_out, variables, nodes, memory = resolve(target, optimized)
    names = _LocalNames()
    items, key_of, edges = {}, {}, []
    srcs = [s for s in sources(roots) if not (_is_literal(s) and all(s is not r for r in roots))]
    srcs += [v for v in variables if all(v is not s for s in srcs)]
    for i, s in enumerate(srcs):
        items[f"s{i}"] = _source_item(f"s{i}", s, names)
        key_of[id(s)] = f"s{i}"
    inplace = _inplace_pairs(memory) if memory is not None else set()
    for i, node in enumerate(nodes):
        key = f"n{i}"
        items[key] = _op_item(key, node, names)
        key_of[id(node)] = key
    pic = Picture(items, edges, roots, [], [], key_of)
    for i, node in enumerate(nodes):
        key, owner = f"n{i}", items[f"n{i}"]
        for k, t in enumerate(node.inputs):
            if _is_literal(t):
                lit = f"{key}c{k}"
                items[lit] = Item(lit, "literal", owner.scope, owner.grad, value_text(t.value), [],
                                  f"constant {t.type}", t)
                edges.append(Edge(lit, key, t))
                continue
            edges.append(Edge(pic.producer(t), key, t, inplace=(id(t), id(node)) in inplace))
    for i, t in enumerate(roots[:n_out]):
        key = f"out{i}"
        items[key] = Item(key, "output", "", False, "output" if n_out == 1 else f"output {i}",
                          tooltip=f"output {i}: {t.type}")
        pic.outputs.append((t, key))
        edges.append(Edge(pic.producer(t), key, t))
    for v, t in zip(variables, roots[n_out:]):
        pic.updates.append((v, t))
        edges.append(Edge(pic.producer(t), key_of[id(v)], t, kind="update"))
    bodies = (getattr(target.program, "bodies", None) or {}) if optimized else {}
    draw_bodies(pic, nodes, bodies.get, _op_item, names, Item, Edge, is_grad)
    return pic
