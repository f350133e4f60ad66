"""Explore's lane fitting (passes/explore.py, step 2): a lane converter that would pace a conv beyond the
target is removed at whichever end costs less, here by widening the one-lane relu feeding it rather than
folding the conv into a point with more multipliers."""

from dfcc.analyses.network import Network
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.passes.explore import _Search
from tests.test_converter_pacing import _paced_module


def test_a_paced_conv_keeps_its_point_and_its_one_lane_producer_widens():
    network = Network.from_module(parse_module(_paced_module(1, 1, 3, 1, 1, 8, 8, 16)))
    search = _Search(network, load_platform("zcu102"), 0.9, 0)
    relu, conv = (next(i for i, m in enumerate(network.nodes) if m.name == name) for name in ("relu", "conv"))
    paced = []
    for target in search.targets():
        rows, _ = search.select_rows(target, search.jitter)
        edges = [c for c in network.converters(search.choices_of(rows)) if search._too_slow(c, rows, target)]
        if edges:
            paced.append((target, rows, edges))
    assert paced, "no target where the conv's cheapest point is paced by a converter from the relu"
    for target, rows, edges in paced:
        fitted = search.fit_lanes(target, search.jitter, rows)
        choices = search.choices_of(fitted)
        assert fitted[conv] == rows[conv], f"T {target}: the conv was refolded"
        assert fitted[relu] != rows[relu], f"T {target}: the relu kept its lanes"
        assert not any(search._too_slow(c, fitted, target) for c in network.converters(choices))
        assert search.evaluate(choices).ii <= target
