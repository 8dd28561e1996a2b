"""What a box and an arrow say: op labels with key parameters, value types, the
picture's colour scheme.

Labels come from ``Op.label()``; a few ops whose key parameter lives in an input type
(a convolution's kernel size) get it added here, registered by op class name so this
module needs no op imports. Fused ops list what they fused (``describe()``).

    >>> edge_label(TensorType("float32", (None, 28, 28, 8)))
    '(?, 28, 28, 8) f32'
"""
from __future__ import annotations

import os

import numpy as np

from ..graph.types import format_shape

_SHORT_DTYPES = {"float16": "f16", "float32": "f32", "float64": "f64", "bfloat16": "bf16",
                 "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
                 "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
                 "complex64": "c64", "complex128": "c128"}
FUSED_LINES_SHOWN = 8  # longer fused bodies are cut in the box (the tooltip has them all)


def short_dtype(dtype: str) -> str:
    return _SHORT_DTYPES.get(dtype, dtype)


def edge_label(type_) -> str:
    """``'(?, 784) f32'``: the shape (``?`` for an unknown dim) and the short dtype."""
    return f"{format_shape(type_.shape)} {short_dtype(type_.dtype)}"


def value_text(value: np.ndarray, limit: int = 4) -> str:
    """A constant's value as it reads in a label: ``2``, ``0.5``, ``[1 2 3]``; ``None``
    when it has more than ``limit`` elements."""
    if value.size > limit:
        return None
    if value.ndim == 0:
        v = value.item()
        return f"{v:g}" if isinstance(v, float) else str(v)
    return np.array2string(value, separator=" ", threshold=limit, precision=4)


def site_text(site: str) -> str:
    """``file.py:41`` (base name only, so pictures do not depend on where a checkout lives)."""
    path, sep, line = (site or "").rpartition(":")
    return f"{os.path.basename(path)}:{line}" if sep else (site or "")


# ---------------------------------------------------------------- op labels
def _kernel_hw(node, index):
    shape = node.inputs[index].shape if len(node.inputs) > index else ()
    return "×".join("?" if d is None else str(d) for d in shape[:2]) if len(shape) == 4 else ""


def _conv_label(node, op, label):
    hw = _kernel_hw(node, 1)
    name = op.op_name()
    return label.replace(name, f"{name} {hw}", 1) if hw and label.startswith(name) else label


def _epilogue_label(node, op, label):
    head = getattr(op, "head", None)
    return _conv_label(node, head, label) if type(head).__name__ == "Conv2D" else label


#: op class name -> ``f(node, op, label) -> label``: parameters read from input types
LABEL_EXTRAS = {"Conv2D": _conv_label, "FusedEpilogue": _epilogue_label}


def op_label(node) -> str:
    """The box text of an op node: ``Op.label()`` plus extras (kernel size for conv2d)."""
    op = node.op
    label = op.label()
    extra = LABEL_EXTRAS.get(type(op).__name__)
    return extra(node, op, label) if extra is not None else label


def fused_lines(op) -> list:
    """The sub-ops a fused op runs (``['t0 = add(x0, x1)', 't1 = tanh(t0)']``), or ``[]``."""
    describe = getattr(op, "describe", None)
    if callable(describe):
        try:
            return [str(line) for line in describe()]
        except TypeError:
            return []
    members = getattr(op, "members", None)
    return [getattr(m, "label", lambda m=m: str(m))() for m in members] if members else []


# ---------------------------------------------------------------- colours and shapes
FONT = "Helvetica"
GRAD_COLOR = "#d9480f"
#: op family (the op class's module, after ``graphflow.ops.``) -> fill colour
FAMILY_FILL = {"elementwise": "#fff0f6", "reductions": "#fff9db", "shape": "#f4ece1",
               "nn": "#edf2ff", "linalg": "#e7f5ff", "fused": "#f3f0ff", "special": "#f8f0fc"}
SOURCE_STYLE = {
    "placeholder": {"shape": "invhouse", "style": "filled", "fillcolor": "#d3f9d8", "color": "#2b8a3e"},
    "variable": {"shape": "cylinder", "style": "filled", "fillcolor": "#c5f6fa", "color": "#0c8599"},
    "constant": {"shape": "box", "style": "filled", "fillcolor": "#f1f3f5", "color": "#868e96",
                 "fontsize": "9"},
    "literal": {"shape": "plaintext", "fontsize": "9", "fontcolor": "#495057", "height": "0.2"},
}
OUTPUT_STYLE = {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#d0ebff", "color": "#1864ab"}
SCOPE_BOX_STYLE = {"shape": "box3d", "style": "filled", "fillcolor": "#f1f3f5", "color": "#495057"}
HIDDEN_GRAD_STYLE = {"shape": "box3d", "style": "dashed,filled", "fillcolor": "#fff4e6",
                     "color": GRAD_COLOR, "fontcolor": GRAD_COLOR}
EDGE_STYLE = {"color": "#495057", "fontcolor": "#495057"}
GRAD_EDGE_STYLE = {"color": "#f08c00", "fontcolor": "#a35200"}
UPDATE_EDGE_STYLE = {"style": "dashed", "color": "#1971c2", "fontcolor": "#1971c2"}
INPLACE_EDGE_STYLE = {"color": "#c92a2a", "fontcolor": "#c92a2a", "penwidth": "1.6"}


def family(op) -> str:
    module = type(op).__module__
    rest = module.split("graphflow.ops.", 1)[1] if "graphflow.ops." in module else ""
    return rest.split(".")[0]


def op_style(op, grad: bool) -> dict:
    """Rounded boxes filled by op family; fused ops get a double border; gradient ops a
    dashed orange border and orange fill, whatever their family."""
    style = {"shape": "box", "style": "rounded,filled", "color": "#343a40",
             "fillcolor": FAMILY_FILL.get(family(op), "#ffffff")}
    if fused_lines(op):
        style["peripheries"] = "2"
    if grad:
        style.update(style="rounded,filled,dashed", color=GRAD_COLOR, fillcolor="#fff4e6")
    return style


def cluster_style(depth: int, grad: bool) -> dict:
    shade = ("#f8f9fa", "#f1f3f5", "#e9ecef", "#dee2e6")[min(depth, 3)]
    style = {"style": "rounded,filled", "fillcolor": shade, "color": "#adb5bd", "fontname": FONT,
             "fontsize": "11", "labeljust": "l"}
    if grad:
        style.update(style="rounded,filled,dashed", color=GRAD_COLOR, fontcolor=GRAD_COLOR, fillcolor="#fffaf3")
    return style
