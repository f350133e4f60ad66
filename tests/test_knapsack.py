"""analyses/knapsack.py: lower hulls of (memory, traffic) options and their steps, against hand-computed cases."""

from dfcc.analyses.knapsack import hull_steps, lower_hull


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
