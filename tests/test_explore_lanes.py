"""Explore's lane fitting (passes/explore.py, step 2): a lane converter that would pace a conv beyond the
target is removed at whichever end costs less: at some targets by widening the one-lane relu feeding it rather than
folding the conv into a point with more multipliers; a node without hardware (a reshape) reads its producer's lanes."""

import pytest

from dfcc.analyses.network import Network
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.kinds.reshape import ReshapeOp
from dfcc.passes.explore import _design_holders, _Search, explore, foldings
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


def test_a_reshape_reads_its_producers_lanes_in_every_design_the_search_weighs():
    """A reshape costs nothing at any folding, so its lanes decide only the converters to its neighbours: it keeps
    every folding among its points, and the search gives it the lanes its producer writes (zoo ConvNeXt-tiny's
    reshapes kept their fastest folding alone, 1,536 lanes between 3-lane linears and 1-lane maps, and no ZCU102 design
    fitted their converters' FF)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch_mlir.fx")
    from tests.torch_differential import lower

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(32, 128), torch.nn.GELU(), torch.nn.Linear(128, 32))
    network = Network.from_module(lower(mlp, torch.randn(1, 2, 2, 32)))  # each linear's pixels flattened and back
    platform = load_platform("zcu102")
    search = _Search(network, platform, 0.9, 0)
    reshapes = [n for n, model in enumerate(network.nodes) if isinstance(model.op, ReshapeOp)]
    assert len(reshapes) == 4
    assert all(len(search.spaces[n].choices) == len(foldings(network.nodes[n])) > 1 for n in reshapes)
    design, totals = explore(network, platform, progress=False)
    for target in (float("inf"), totals.ii):
        choices = search.select(target, search.jitter)
        out = network.lanes(choices)
        for n in reshapes:
            written = out[network.edges[network.in_edges[n][0]].producer]
            assert network.node_lanes(n, choices[n][0], written)[0] == (written,), network.nodes[n].name
        assert not [c for c in network.converters(choices) if network.edges[c.edge].consumer in reshapes]
    assert not [c for c in totals.converters if network.edges[c.edge].consumer in reshapes]


def test_a_design_over_budget_says_what_its_lane_converters_take():
    """Where a balanced design does not fit (`_no_fit`), its resource split into its nodes', FIFOs' and lane converters'
    (the nodes' cheapest points leave converters out: zoo ConvNeXt-tiny's 1.49 M FF of them went unnamed)."""
    network = Network.from_module(parse_module(_paced_module(1, 8, 3, 1, 1, 8, 8, 16)))  # a 1-lane relu, an 8-lane conv
    totals = network.evaluate(network.ir_choices())
    (converter,) = totals.converters
    for resource, fifos in (("lut", totals.fifo_lut), ("ff", 0)):
        converters = getattr(converter, resource)
        assert converters > 0
        line = _design_holders(network, totals, resource)
        assert line == (f"{resource.upper()} in that design: nodes {totals.resource(resource) - fifos - converters:,}, "
                        f"FIFOs {fifos:,}, lane converters {converters:,} (1; the largest 1 -> 8 lanes, 'relu' -> 'conv')")
