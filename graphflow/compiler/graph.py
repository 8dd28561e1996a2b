"""The compiler's view of a graph: the nodes between the sources and given outputs, in
run order, with their clients. The graph itself is never edited; passes return new
outputs (see ``engine.substitute``) and a new view is taken."""
from __future__ import annotations

from functools import cached_property

from ..graph import toposort


class GraphView:
    """``GraphView(outputs)``: ``.nodes`` (inputs before users), ``.clients`` and helpers.

    >>> g = GraphView([y]); len(g), g.clients[x.node]
    """

    def __init__(self, outputs):
        self.outputs = list(outputs)
        self.nodes = toposort(self.outputs)

    def __len__(self):
        return len(self.nodes)

    @cached_property
    def clients(self) -> dict:
        """``{node: [consumer nodes]}`` (a consumer appears once per input it reads)."""
        out = {n: [] for n in self.nodes}
        for n in self.nodes:
            for t in n.inputs:
                if t.node is not None:
                    out[t.node].append(n)
        return out

    @cached_property
    def output_ids(self) -> set:
        return {id(t) for t in self.outputs}
