"""``dprint``: a graph as a text tree (Theano's ``debugprint``), needing no Graphviz.

One line per value: the op label (or a source's name), ``[id A]`` (ids given in print
order, so equal graphs print equal text), shape, dtype and scope. A sub-tree printed
before is shown once and then referred to with ``···``. Fused ops list their bodies at
the end.

    >>> gf.viz.dprint(gf.relu(x * 2))
    relu [id A] (?, 3) float32
     └─ mul [id B] (?, 3) float32
         ├─ x [id C] placeholder (?, 3) float32
         └─ 2 [id D] constant () float32
"""
from __future__ import annotations

import sys

from ..graph import Constant, Tensor
from ..graph.types import format_shape
from .labels import fused_lines, op_label, value_text
from .view import build_picture

_TEE, _ELBOW, _PIPE, _GAP = " ├─ ", " └─ ", " │  ", "    "


def _letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (bijective base 26)."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


class _Printer:
    def __init__(self, pic, max_depth):
        self.pic, self.max_depth = pic, max_depth
        self.ids: dict = {}
        self.expanded: set = set()
        self.fused: list = []
        self.lines: list = []

    def ident(self, obj) -> str:
        if id(obj) not in self.ids:
            self.ids[id(obj)] = _letters(len(self.ids))
        return self.ids[id(obj)]

    def describe(self, t: Tensor) -> str:
        """The text of one value, without tree glyphs."""
        type_ = f"{format_shape(t.shape)} {t.dtype}"
        node = t.node
        if node is None:
            key = self.pic.key_of.get(id(t))
            if key is not None:
                item = self.pic.items[key]
                return f"{item.label} [id {self.ident(t)}] {item.kind} {type_}"
            shown = value_text(t.value) if isinstance(t, Constant) else t.name
            return f"{shown} [id {self.ident(t)}] constant {type_}"
        item = self.pic.items[self.pic.key_of[id(node)]]
        label = op_label(node)
        name = f" '{item.label}'" if item.label != label else ""
        out = f".{t.index}" if len(node.outputs) > 1 else ""
        scope = f"  in {node.scope}" if node.scope else ""
        return f"{label}{name} [id {self.ident(node)}]{out} {type_}{scope}"

    def tree(self, root: Tensor, head: str = "") -> None:
        stack = [(root, "", "", 0)]
        while stack:
            t, prefix, glyph, depth = stack.pop()
            text = self.describe(t)
            node = t.node
            children = list(node.inputs) if node is not None else []
            if children and id(node) in self.expanded:
                text += " ···"
                children = []
            elif children and self.max_depth is not None and depth >= self.max_depth:
                text += " …"
                children = []
            if node is not None and id(node) not in self.expanded:
                self.expanded.add(id(node))
                if fused_lines(node.op):
                    self.fused.append(node)
            self.lines.append(f"{head if depth == 0 else ''}{prefix}{glyph}{text}")
            inner = prefix + ("" if depth == 0 else (_PIPE if glyph == _TEE else _GAP))
            for i, c in reversed(list(enumerate(children))):
                stack.append((c, inner, _ELBOW if i == len(children) - 1 else _TEE, depth + 1))

    def fused_section(self) -> None:
        if self.fused:
            self.lines.append("fused ops:")
            for node in self.fused:
                self.lines.append(f" [id {self.ident(node)}] " + "; ".join(fused_lines(node.op)))


def dformat(target, optimized: bool = False, max_depth=None) -> str:
    """The text of ``dprint`` (see there), returned instead of printed.

    >>> text = gf.viz.dformat(train_fn, optimized=True)
    """
    pic = build_picture(target, optimized)
    p = _Printer(pic, max_depth)
    is_function = hasattr(target, "program")
    for i, (t, _) in enumerate(pic.outputs):
        p.tree(t, f"output {i}: " if is_function else "")
    for v, t in pic.updates:
        p.tree(t, f"update {pic.items[pic.key_of[id(v)]].label} [id {p.ident(v)}] ← ")
    p.fused_section()
    return "\n".join(p.lines) + "\n"


def dprint(target, file=None, optimized: bool = False, max_depth=None) -> str:
    """Print ``target``'s graph as a text tree (to ``file``, default stdout) and return
    the text. ``target``: a tensor, a list of tensors or a compiled function (then
    ``optimized=True`` shows the program that runs). ``max_depth`` cuts deep trees (``…``).

    >>> gf.viz.dprint(loss)                           # doctest: +SKIP
    """
    text = dformat(target, optimized, max_depth)
    (file if file is not None else sys.stdout).write(text)
    return text
