"""One-line pattern rules: ``"log(add(x, 1))"`` -> ``lambda x: log1p(x)``.

A pattern is an op name (as ``Op.op_name()`` spells it) applied to sub-patterns,
variables (``x``, ``y``: any tensor; a repeated name must be the same tensor) or numbers
(a constant of static shape whose every element equals the number). The build function
gets the variables by name and returns the replacement, or ``None`` to decline. A match
whose replacement would change the type (a broadcast that widens, a dtype change) is
not a match: the rule simply does not apply there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..graph import Op
from .consts import is_value
from .engine import Rewrite

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|-?[0-9.]+(?:e-?[0-9]+)?|[(),])")


@dataclass(frozen=True)
class _OpPat:
    op_type: type
    args: tuple


@dataclass(frozen=True)
class _Var:
    name: str


@dataclass(frozen=True)
class _Num:
    value: float


def _op_types() -> dict:
    """``{op name: {op classes}}`` of graphflow's own ops (not ops users define, which
    may reuse a name)."""
    found, stack = {}, [Op]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("graphflow."):
            found.setdefault(cls.op_name(), set()).add(cls)
    return found


def parse(text: str, op_types: dict | None = None):
    """The pattern tree of ``text`` (raises ValueError with the position of a problem)."""
    op_types = op_types or _op_types()
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ValueError(f"pattern {text!r}: unexpected characters")
    pos = 0

    def take():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        return tok

    def node():
        tok = take()
        if re.match(r"-?[0-9.]", tok):
            return _Num(float(tok))
        if pos < len(tokens) and tokens[pos] == "(":
            take()
            args = []
            while tokens[pos] != ")":
                args.append(node())
                if tokens[pos] == ",":
                    take()
            take()
            classes = op_types.get(tok, set())
            if len(classes) != 1:
                raise ValueError(f"pattern {text!r}: `{tok}` names {len(classes)} op types, need exactly one")
            return _OpPat(next(iter(classes)), tuple(args))
        return _Var(tok)

    tree = node()
    if pos != len(tokens) or not isinstance(tree, _OpPat):
        raise ValueError(f"pattern {text!r} must be one op application")
    return tree


def match(pat, t, env: dict) -> bool:
    """Whether tensor ``t`` matches ``pat``, binding variables into ``env``."""
    if isinstance(pat, _Var):
        bound = env.setdefault(pat.name, t)
        return bound is t
    if isinstance(pat, _Num):
        return is_value(t, pat.value)
    node = t.node
    if node is None or type(node.op) is not pat.op_type or len(node.inputs) != len(pat.args):
        return False
    return all(match(p, x, env) for p, x in zip(pat.args, node.inputs))


def pattern_rewrite(text: str, build, name=None, doc="") -> Rewrite:
    """A Rewrite for ``text`` -> ``build(**variables)``."""
    tree = parse(text)

    def fn(node, ctx):
        env = {}
        if not match(tree, node.outputs[0], env):
            return None
        out = build(**env)
        if out is None or out.type != node.outputs[0].type:
            return None
        return out

    return Rewrite(name or text, (tree.op_type,), fn, doc or text)
