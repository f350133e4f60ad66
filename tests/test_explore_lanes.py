"""Explore's lane fitting (passes/explore.py, step 2): a lane converter that would pace a conv beyond the
target is removed at whichever end costs less: at some targets by widening the one-lane relu feeding it rather than
folding the conv into a point with more multipliers."""

from dfcc.analyses.network import Network
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.passes.explore import _Search
from tests.test_converter_pacing import _paced_module


def test_a_paced_conv_keeps_its_point_where_widening_its_one_lane_producer_costs_less():
    network = Network.from_module(parse_module(_paced_module(1, 1, 3, 1, 1, 8, 8, 16)))
    search = _Search(network, load_platform("zcu102"), 0.9, 0)
    consumer_first = search.with_rule(cheaper_end=False)
    relu, conv = (next(i for i, m in enumerate(network.nodes) if m.name == name) for name in ("relu", "conv"))
    score = search.all_usage @ (search.jitter / search.limit_vec)  # fit_lanes' cost of a point
    paced = []
    for target in search.targets():
        rows, _ = search.select_rows(target, search.jitter)
        edges = [c for c in network.converters(search.choices_of(rows)) if search._too_slow(c, rows, target)]
        if edges:
            paced.append((target, rows, edges))
    assert paced, "no target where the conv's cheapest point is paced by a converter from the relu"
    widened = 0
    for target, rows, edges in paced:
        fitted = search.fit_lanes(target, search.jitter, rows)
        choices = search.choices_of(fitted)
        assert not any(search._too_slow(c, fitted, target) for c in network.converters(choices))
        assert search.evaluate(choices).ii <= target
        old = consumer_first.fit_lanes(target, search.jitter, rows)  # the old rule refolds the conv if it can
        assert score[fitted].sum() <= score[old].sum() + 1e-12, f"T {target}: the cheaper end cost more"
        if fitted[conv] == rows[conv]:
            assert fitted[relu] != rows[relu], f"T {target}: neither end refitted"
            widened += score[fitted].sum() < score[old].sum()
    assert widened, "no target where widening the relu beat the old rule's refolded conv"
