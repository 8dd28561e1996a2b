"""Reading YAML model configs safely: PyYAML's safe loader (plain data, never Python
objects), with what aliases may expand to bounded.

YAML aliases (``*a``) share the node their anchor (``&a``) names, so nine lines of
nine aliases each describe 9^9 values: PyYAML builds that as a small graph, but whoever
walks the result (a model config is walked to build the model) walks every path, and a
merge key (``<<: *a``) copies for real. An alias to an enclosing node makes a loop. So
before anything is constructed the composed node graph is measured: the number of
nodes it stands for, counted once per path, may exceed the nodes written by at most
``MAX_ALIAS_EXPANSION``; a loop or more is refused with ``YamlRefused``.

    >>> load("a: &x [1, 2]\\nb: *x")
    {'a': [1, 2], 'b': [1, 2]}
"""
from __future__ import annotations

import yaml

MAX_ALIAS_EXPANSION = 100_000
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlRefused(ValueError):
    """The YAML text's aliases expand too far or make a loop."""


def load(text: str):
    """The plain data of one YAML document (``yaml.safe_load``'s result), once its
    aliases are known to expand to at most ``MAX_ALIAS_EXPANSION`` extra nodes.
    Raises ``yaml.YAMLError`` for malformed text, ``YamlRefused`` for an alias bomb."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _children(node):
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return ()


def _check_expansion(root):
    """Count the nodes ``root`` stands for (each path once) without walking the paths:
    a node's count is 1 + its children's counts, computed once per node."""
    size, written, on_path = {}, 0, set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            if size[key] - written > MAX_ALIAS_EXPANSION:
                raise YamlRefused(f"YAML aliases at line {node.start_mark.line + 1} expand to more than "
                                  f"{MAX_ALIAS_EXPANSION:,} nodes beyond the {written:,} written (an alias bomb); "
                                  f"a model config never needs that")
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlRefused(f"a YAML alias at line {node.start_mark.line + 1} refers to a node that contains "
                              f"it (a loop); a model config is a tree")
        written += 1
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)
