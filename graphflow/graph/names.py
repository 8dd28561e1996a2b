"""The one rule for names: every name that can reach a file (an HDF5 group or dataset
path, a file name), a DOT/SVG picture or an error message passes it when it is given.

A name is 1 to ``MAX_NAME`` characters: ASCII letters, digits, ``_``, ``.`` and ``-``,
not starting with ``.`` or ``-`` (so ``.``, ``..`` and option-like names are out). A
*path* is names joined by ``/`` (a placeholder named ``"block/x"`` sits in scope
``block``). Nothing else -- no spaces, quotes, ``<>``, backslashes, NUL or non-ASCII --
so a name never needs escaping in DOT, SVG, HDF5 or a shell, and a file that saves a
name always reads the same name back.

    >>> check_name("conv2d_1", "layer name")
    'conv2d_1'
    >>> check_path("block1/x", "placeholder name")
    'block1/x'
"""
from __future__ import annotations

import re

from .errors import GraphError

MAX_NAME = 255  # a file name's limit (NAME_MAX) on Linux and macOS
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_CHARACTERS = {"\0": "a NUL character", " ": "a space", "\n": "a line break", "\\": "a backslash"}


class NameRuleError(GraphError):
    """A name breaks the naming rule (see ``graphflow.graph.names``)."""


def _problem(name) -> str | None:
    """What is wrong with ``name`` as one name, or ``None``."""
    if not isinstance(name, str):
        return f"it is a {type(name).__name__}, not a str"
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"it is {len(name)} characters long (at most {MAX_NAME})"
    if not _NAME.match(name):
        if name[0] in ".-":
            return f"it starts with {name[0]!r}; a name starts with an ASCII letter, digit or _"
        i = next(i for i, c in enumerate(name) if not _NAME.match("_" + c))
        found = _CHARACTERS.get(name[i], repr(name[i]))
        hint = " ('/' separates scopes and is not part of a name)" if name[i] == "/" else ""
        return f"it holds {found} at position {i}; use ASCII letters, digits and _.- only{hint}"
    return None


def _shown(name) -> str:
    text = repr(name)
    return text if len(text) <= 80 else f"{text[:60]}...{text[-12:]} ({len(name)} characters)"


def check_name(name, what: str = "name") -> str:
    """``name`` itself if it passes the rule, else ``NameRuleError`` naming it and why."""
    problem = _problem(name)
    if problem is not None:
        raise NameRuleError(f"invalid {what} {_shown(name)}: {problem}")
    return name


def check_path(path, what: str = "name") -> str:
    """``path`` itself if it is names joined by ``/`` (each passing the rule)."""
    if not isinstance(path, str):
        return check_name(path, what)
    for part in path.split("/"):
        problem = _problem(part)
        if problem is not None:
            detail = problem if part == path else f"its part {_shown(part)}: {problem}"
            raise NameRuleError(f"invalid {what} {_shown(path)}: {detail}")
    return path


def derived_name(name: str, suffix: str) -> str:
    """A name made from a valid ``name`` plus ``suffix`` (``"dense_1" + "_input"``),
    cut so that it still passes the rule however long ``name`` is."""
    return name[: MAX_NAME - len(suffix)] + suffix


def is_valid_name(name) -> bool:
    """Whether ``name`` passes the rule (one name, no ``/``)."""
    return _problem(name) is None
