"""Walking graphs: iterative topological order, ancestors, export to networkx (imported
when ``to_networkx`` is called: it is most of ``import graphflow``'s time otherwise)."""
from __future__ import annotations


def toposort(outputs) -> list:
    """Nodes needed for ``outputs``, inputs before users (iterative: deep graphs are fine)."""
    order, seen = [], set()
    stack = [(t.node, False) for t in reversed(list(outputs)) if t.node is not None]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for t in reversed(node.inputs):
            if t.node is not None and id(t.node) not in seen:
                stack.append((t.node, False))
    return order


def sources(outputs) -> list:
    """Placeholders, variables and constants the outputs depend on, in first-use order."""
    from .sources import Source
    found, seen = [], set()
    for t in outputs:
        if isinstance(t, Source) and id(t) not in seen:
            seen.add(id(t)); found.append(t)
    for node in toposort(outputs):
        for t in node.inputs:
            if isinstance(t, Source) and id(t) not in seen:
                seen.add(id(t)); found.append(t)
    return found


def to_networkx(outputs) -> "nx.DiGraph":
    """The graph behind ``outputs`` as a ``networkx.DiGraph`` for analysis.

    Vertices are node names (ops) and source names (placeholders, variables, constants),
    with attributes ``kind`` (``op``/``placeholder``/``variable``/``constant``), ``op``,
    ``label``, ``scope``; edges carry ``shape``, ``dtype`` and the input ``index``.

    >>> g = gf.to_networkx([y]); nx.dag_longest_path_length(g)
    """
    import networkx as nx

    from .sources import Constant, Placeholder, Variable
    outputs = [outputs] if not isinstance(outputs, (list, tuple)) else list(outputs)
    g = nx.DiGraph()
    kinds = ((Placeholder, "placeholder"), (Variable, "variable"), (Constant, "constant"))
    for s in sources(outputs):
        kind = next(k for cls, k in kinds if isinstance(s, cls))
        g.add_node(s.name, kind=kind, op=kind, label=s.name, scope="", shape=s.shape, dtype=s.dtype)
    for node in toposort(outputs):
        g.add_node(node.name, kind="op", op=node.op.op_name(), label=node.op.label(), scope=node.scope)
        for i, t in enumerate(node.inputs):
            src = t.name if t.node is None else t.node.name
            g.add_edge(src, node.name, index=i, shape=t.shape, dtype=t.dtype)
    return g
