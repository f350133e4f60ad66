"""analyses/knapsack.py: lower hulls of (memory, traffic) options and the LP relaxation of the multiple-choice
knapsack, against hand-computed cases and a brute force."""

import itertools

import numpy as np
import pytest

from dfcc.analyses.knapsack import hull_steps, lower_hull, lp_least_traffic


def test_lower_hull_drops_dominated_and_concave_points():
    # (0, 100) -> (2, 40) -> (6, 0): rates 30 then 10; (4, 30) lies above the line (2, 40)-(6, 0) (20 there);
    # (3, 60) has more traffic than (2, 40) for more memory; (0, 120) more traffic at equal memory
    options = [(4, 30), (0, 100), (6, 0), (3, 60), (2, 40), (0, 120)]
    assert lower_hull(options) == [1, 4, 2]


def test_lower_hull_keeps_a_point_below_the_chord():
    # (4, 10) is below the chord from (2, 40) to (6, 0) (20 at 4): rates 30, 15, 5
    assert lower_hull([(0, 100), (2, 40), (4, 10), (6, 0)]) == [0, 1, 2, 3]


def test_hull_steps_steepest_first():
    starts, steps = hull_steps([[(0, 100), (2, 40), (6, 0)], [(1, 50), (2, 0)]])
    assert starts == [0, 0]
    # item 1: 50 saved for 1 (rate 50); item 0: 60 for 2 (30), then 40 for 4 (10)
    assert [(s.item, s.start, s.end, s.memory, s.saved) for s in steps] == [
        (1, 0, 1, 1, 50), (0, 0, 1, 2, 60), (0, 1, 2, 4, 40)]


def test_lp_least_traffic_takes_the_last_step_in_part():
    items = [[(0, 100), (2, 40), (6, 0)], [(1, 50), (2, 0)]]
    # least memory 1, traffic 150; capacity 5: item 1's step (memory 2, traffic 100), item 0's first step
    # (memory 4, traffic 40), then a quarter of item 0's second step (memory 5, 10 of its 40 saved: traffic 30)
    assert lp_least_traffic(items, 5) == pytest.approx(30.0)
    assert lp_least_traffic(items, 8) == pytest.approx(0.0)
    assert lp_least_traffic(items, 1) == pytest.approx(150.0)
    assert lp_least_traffic(items, 0.5) is None


def test_lp_bound_is_below_every_integer_choice_within_capacity():
    rng = np.random.default_rng(3)
    for _ in range(30):
        items = [[(float(m), float(t)) for m, t in zip(rng.integers(0, 10, 4), rng.integers(0, 100, 4))]
                 for _ in range(3)]
        capacity = float(rng.integers(0, 25))
        fitting = [sum(t for _, t in pick) for pick in itertools.product(*items) if sum(m for m, _ in pick) <= capacity]
        bound = lp_least_traffic(items, capacity)
        if fitting:
            assert bound is not None and bound <= min(fitting) + 1e-9
        least = sum(min(m for m, _ in options) for options in items)
        assert (bound is None) == (least > capacity)
