"""Element-wise ops as CUDA expressions: the table the fused-kernel generator reads.

Each element-wise op the CuPy backend compiles declares, where the backend registers it
(``kernels/elementwise.py``), one C expression over its operands and how the operands
are typed before it applies:

- ``"out"`` (the default): every operand converted to the op's result type, as NumPy's
  arithmetic ufuncs loop in the result type (``int32 + float32`` adds in float64);
- ``"common"``: to the operands' common type (comparisons: the result is bool);
- ``"bool"``: to bool (logical ops);
- ``"same"``: left as it is;
- or a tuple with one of these per operand (``where``: bool, out, out).

In the template ``{0}``, ``{1}``... are the typed operands, ``{T}`` the C type they were
converted to, and ``{name}`` a field of the op as a literal of that type.

    >>> EXPRESSIONS.define(ew.Add, "{0} + {1}")
    >>> EXPRESSIONS.define(ew.Less, "{0} < {1}", operands="common")
    >>> EXPRESSIONS.define(act.LeakyRelu, "{0} > 0 ? {0} : {0} * {alpha}")
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass

import numpy as np

from .source import Unsupported, ctype, literal

MODES = ("out", "common", "bool", "same")
_FIELD = re.compile(r"\{([A-Za-z_]\w*)\}")


@dataclass(frozen=True)
class Expression:
    """One op's CUDA expression and operand typing (see the module docstring)."""
    template: str
    operands: object = "out"

    def __post_init__(self):
        modes = self.operands if isinstance(self.operands, tuple) else (self.operands,)
        bad = [m for m in modes if m not in MODES]
        if bad:
            raise ValueError(f"operand typing must be one of {MODES} (or a tuple of them), got {bad}")

    def fields(self) -> list:
        """Op fields the template names (everything in braces but ``T`` and positions)."""
        return [f for f in _FIELD.findall(self.template) if f != "T"]

    def mode(self, position: int) -> str:
        return self.operands[position] if isinstance(self.operands, tuple) else self.operands

    def render(self, op, operands, in_dtypes, out_dtype) -> str:
        """The C expression for ``op`` on operand C expressions whose dtypes are
        ``in_dtypes``; the caller converts the result to ``out_dtype``."""
        common = np.result_type(*[np.dtype(d) for d in in_dtypes]).name
        target = {"out": out_dtype, "common": common, "bool": "bool"}
        typed, compute = [], out_dtype
        for pos, (text, dtype) in enumerate(zip(operands, in_dtypes)):
            mode = self.mode(pos)
            want = dtype if mode == "same" else target[mode]
            typed.append(text if want == dtype else f"(({ctype(want)})({text}))")
            if mode == "common":
                compute = common
        values = {f: literal(getattr(op, f), compute) for f in self.fields()}
        try:
            return "(" + string.Formatter().vformat(self.template, typed, {"T": ctype(compute), **values}) + ")"
        except (IndexError, KeyError) as exc:
            raise Unsupported(f"the CUDA expression {self.template!r} does not fit {op.label()}: {exc}") from None


class ExpressionTable:
    """Op type -> ``Expression``, looked up through the op class's MRO (a subclass
    without its own expression uses its parent's)."""

    def __init__(self):
        self._by_type: dict = {}

    def define(self, op_type, template: str, operands="out") -> Expression:
        expr = Expression(template, operands)
        self._by_type[op_type] = expr
        return expr

    def get(self, op_type) -> Expression | None:
        for cls in op_type.__mro__:
            found = self._by_type.get(cls)
            if found is not None:
                return found
        return None

    def __contains__(self, op_type) -> bool:
        return self.get(op_type) is not None

    def op_types(self) -> list:
        return list(self._by_type)


EXPRESSIONS = ExpressionTable()
