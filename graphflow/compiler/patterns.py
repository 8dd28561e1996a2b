"""Pattern rules as objects: ``Pat(Log, Pat(Add, x, 1))`` -> ``lambda x: log1p(x)``.

A pattern is built from

- ``Pat(OpType, *args, where=None)``: a node whose op is exactly ``OpType`` (a class, so
  no name lookup and no import-order dependence), applied to sub-patterns;
- ``Var(name, where=None)``: any tensor, bound by name (a repeated name must be the
  same tensor);
- a number, or ``Const(value)``: a constant of static shape whose every element equals
  the value.

``where`` predicates take the matched tensor (``Var``) or node (``Pat``) and decline the
match when false; ``floating``, ``integral`` and ``static_shape`` are ready-made. The
rule's build function gets the variables by name and returns the replacement, or
``None`` to decline. A match whose replacement would change the type (a broadcast that
widens, a dtype change) is not a match: the rule simply does not apply there.

    >>> x = Var("x", where=floating)
    >>> STABILIZE.pattern(Pat(Log, Pat(Add, x, 1)), lambda x: log1p(x))     # log(x+1) = log1p(x)
"""
from __future__ import annotations

from dataclasses import dataclass

from ..graph.dtypes import is_float, is_integer
from .consts import is_value
from .rules import Rewrite


@dataclass(frozen=True)
class Var:
    """Any tensor (optionally satisfying ``where(tensor)``), bound to ``name``."""
    name: str
    where: object = None

    def __repr__(self):
        return self.name


@dataclass(frozen=True)
class Const:
    """A constant whose every element equals ``value`` (through reshapes/broadcasts)."""
    value: float

    def __repr__(self):
        return f"{self.value:g}"


class Pat:
    """A node whose op is exactly ``op_type``, with inputs matching ``args``."""

    def __init__(self, op_type: type, *args, where=None):
        if not isinstance(op_type, type):
            raise TypeError(f"Pat needs an op class, got {op_type!r}")
        self.op_type = op_type
        self.args = tuple(a if isinstance(a, (Pat, Var, Const)) else Const(float(a)) for a in args)
        self.where = where

    def __repr__(self):
        return f"{self.op_type.op_name()}({', '.join(map(repr, self.args))})"


def floating(t) -> bool:
    return is_float(t.dtype)


def integral(t) -> bool:
    return is_integer(t.dtype)


def static_shape(t) -> bool:
    return None not in t.shape


def match(pat, t, env: dict) -> bool:
    """Whether tensor ``t`` matches ``pat``, binding variables into ``env``."""
    if isinstance(pat, Var):
        bound = env.setdefault(pat.name, t)
        return bound is t and (pat.where is None or bool(pat.where(t)))
    if isinstance(pat, Const):
        return is_value(t, pat.value)
    node = t.node
    if node is None or type(node.op) is not pat.op_type or len(node.inputs) != len(pat.args):
        return False
    if pat.where is not None and not pat.where(node):
        return False
    return all(match(p, x, env) for p, x in zip(pat.args, node.inputs))


def pattern_rewrite(pattern: Pat, build, where=None, name=None, doc="", at="") -> Rewrite:
    """A ``Rewrite`` for ``pattern`` -> ``build(**variables)`` (if ``where(**variables)``)."""
    if not isinstance(pattern, Pat):
        raise TypeError(f"a pattern rule must match an op application (Pat), got {pattern!r}")
    text = repr(pattern)

    def fn(node, ctx):
        env = {}
        if not match(pattern, node.outputs[0], env):
            return None
        if where is not None and not where(**env):
            return None
        out = build(**env)
        if out is None or out.type != node.outputs[0].type:
            return None
        return out

    return Rewrite(name or text, (pattern.op_type,), fn, doc or text, at)
