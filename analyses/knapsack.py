"""The multiple-choice knapsack of on-chip memory against DRAM traffic: each item (a node's weights) takes one of its
options, each a (memory, traffic) pair; the least total traffic within a memory capacity.

Its LP relaxation is solved exactly by a greedy over each item's lower convex hull, the steepest traffic saved per
memory added first, the last step taken in part (Sinha & Zoltners, "The multiple-choice knapsack problem", Operations
Research 27(3), 1979): `hull_steps` gives those steps. explore's weight allocator (passes/weight_allocation.py) takes
them whole; the bench's memory bound (bench/memory_bound.py) takes the relaxation's optimum as its Lagrangian dual's,
over items a tile-major chain ties together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Option = tuple[float, float]  # (memory, traffic)


@dataclass(frozen=True)
class Step:
    """One edge of an item's hull: from option `start` to option `end`, `memory` more for `saved` less traffic."""

    item: int
    start: int
    end: int
    memory: float
    saved: float

    @property
    def rate(self) -> float:
        return self.saved / self.memory if self.memory > 0 else float("inf")


def lower_hull(options: Sequence[Option]) -> list[int]:
    """Indices of the options on the lower convex hull of (memory, traffic) that buy less traffic with more memory:
    the least memory first (of equals, the least traffic), then each with strictly less traffic than the one before
    at a rate (traffic saved per memory) no greater than the one before."""
    order = sorted(range(len(options)), key=lambda j: (options[j][0], options[j][1], j))
    hull: list[int] = []
    for j in order:
        m, t = options[j]
        if hull and t >= options[hull[-1]][1]:
            continue  # no less traffic for at least as much memory
        while len(hull) >= 2:
            (m1, t1), (m2, t2) = options[hull[-2]], options[hull[-1]]
            # the middle point is on or above the line from hull[-2] to j: not on the lower hull
            if (t2 - t1) * (m - m1) >= (t - t1) * (m2 - m1):
                hull.pop()
            else:
                break
        hull.append(j)
    return hull


def hull_steps(items: Sequence[Sequence[Option]]) -> tuple[list[int], list[Step]]:
    """Each item's least-memory hull option, and every hull step of every item, steepest first (an item's own
    steps come in their hull order: their rates diminish)."""
    starts, steps = [], []
    for i, options in enumerate(items):
        hull = lower_hull(options)
        starts.append(hull[0])
        for a, b in zip(hull, hull[1:]):
            steps.append(Step(i, a, b, options[b][0] - options[a][0], options[a][1] - options[b][1]))
    steps.sort(key=lambda s: -s.rate)
    return starts, steps
