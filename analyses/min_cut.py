"""The cheapest 0/1 label of every node under costs on single nodes and on pairs, by one minimum s-t cut.

A pair's cost must be submodular (cost(0,0) + cost(1,1) <= cost(0,1) + cost(1,0)): it is then a sum of
single-node terms and one cut edge (Kolmogorov and Zabih, What energy functions can be minimized via graph cuts,
IEEE TPAMI 2004). A mixed label of a pair may be forbidden (None: an uncuttable edge). A pair that is not
submodular has its cost(1,0) raised until it is: the labels found then cost at most what the cut says, which is
no more than any labelling that leaves every pair's (1,0) alone (both uniform labellings among them).
Node in the sink's side: label 1. The flow is Dinic's (blocking flows on BFS levels).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from typing import Hashable

PairCosts = tuple[int, int | None, int | None, int]  # cost of labels (0,0), (0,1), (1,0), (1,1)


def cheapest_labels(single: dict[Hashable, tuple[int, int]],
                    pairs: list[tuple[Hashable, Hashable, PairCosts]]) -> set[Hashable]:
    """The nodes labelled 1 in a cheapest labelling: `single` maps a node to its costs at labels 0 and 1, `pairs`
    gives (p, q, costs of (x_p, x_q)); every node of a pair must be in `single`."""
    graph, never = _Graph(), math.inf
    for node, (c0, c1) in single.items():
        graph.label_cost(node, c1 - c0)
    for p, q, (c00, c01, c10, c11) in pairs:
        if c01 is None and c10 is None:  # the same label on both
            graph.edge(p, q, never), graph.edge(q, p, never)
            graph.label_cost(p, c11 - c00)
        elif c10 is None:  # c00 + (c01 - c00) x_q + (c11 - c01) x_p, and x_p = 1, x_q = 0 cut by an edge q -> p
            graph.edge(q, p, never)
            graph.label_cost(q, c01 - c00), graph.label_cost(p, c11 - c01)
        else:  # c00 + (c10 - c00) x_p + (c11 - c10) x_q + w (1 - x_p) x_q, w = c01 + c10 - c00 - c11 >= 0
            c10 = c10 if c01 is None else max(c10, c00 + c11 - c01)
            graph.label_cost(p, c10 - c00), graph.label_cost(q, c11 - c10)
            graph.edge(p, q, never if c01 is None else c01 + c10 - c00 - c11)
    return set(single) & graph.sink_side()


class _Graph:
    """A flow network between a source (label 0) and a sink (label 1)."""

    SOURCE, SINK = object(), object()

    def __init__(self):
        self.capacity: dict = defaultdict(lambda: defaultdict(int))

    def edge(self, u, v, capacity: float) -> None:
        """Cut (at `capacity`) when u is labelled 0 and v 1."""
        if capacity > 0:
            self.capacity[u][v] += capacity
            self.capacity[v][u] += 0  # the residual edge's entry

    def label_cost(self, node, cost: int) -> None:
        """`cost` more (or less) for labelling `node` 1 than 0 (the constant part dropped)."""
        if cost > 0:
            self.edge(self.SOURCE, node, cost)
        elif cost < 0:
            self.edge(node, self.SINK, -cost)

    def sink_side(self) -> set:
        """The nodes on the sink's side of the minimum cut with the fewest of them (label 0 on a tie): those that
        reach the sink once the maximum flow is pushed."""
        while (level := self._levels()).get(self.SINK) is not None:
            arcs = {u: list(vs) for u, vs in self.capacity.items()}
            while self._augment(level, arcs):
                pass
        reaching, queue = {self.SINK}, deque([self.SINK])
        while queue:
            v = queue.popleft()
            for u in self.capacity[v]:  # every arc u -> v has its entry v -> u (`edge`)
                if u not in reaching and self.capacity[u][v] > 0:
                    reaching.add(u)
                    queue.append(u)
        return reaching - {self.SINK}

    def _levels(self) -> dict:
        level, queue = {self.SOURCE: 0}, deque([self.SOURCE])
        while queue:
            u = queue.popleft()
            for v, c in self.capacity[u].items():
                if c > 0 and v not in level:
                    level[v] = level[u] + 1
                    queue.append(v)
        return level

    def _augment(self, level: dict, arcs: dict) -> bool:
        """Push the flow of one path along increasing levels (`arcs`: each node's arcs not yet found dead); False
        if none is left."""
        path = [self.SOURCE]
        while path:
            u = path[-1]
            if u is self.SINK:
                steps = list(zip(path, path[1:]))
                pushed = min(self.capacity[a][b] for a, b in steps)
                for a, b in steps:
                    self.capacity[a][b] -= pushed
                    self.capacity[b][a] += pushed
                return True
            while arcs[u] and not (self.capacity[u][arcs[u][-1]] > 0 and level.get(arcs[u][-1]) == level[u] + 1):
                arcs[u].pop()
            if arcs[u]:
                path.append(arcs[u][-1])
            else:  # a dead end: the arc into it is too
                path.pop()
                if path:
                    arcs[path[-1]].pop()
        return False
