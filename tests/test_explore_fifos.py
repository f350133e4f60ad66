"""Explore after FIFO sizing: a design the sized depths put over budget fits by moving weight memories at the
same foldings, so its depths (simulated on that pipeline) stay valid and no second search runs."""

from dfcc.analyses.network import RESOURCES, Network
from dfcc.analyses.simulation import simulate
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.passes.explore import Explore, _place_weights_within

from tests.test_estimate import NET


def _explored_net():
    module = parse_module(NET)
    Explore(platform="zcu102").apply(make_context(), module)
    network = Network.from_module(module)
    return module, network.evaluate(network.ir_choices(), respect_ir_depths=True)


def _design(module):
    """Per node: folding and multipliers; per stream: its depth (what the simulation times)."""
    network = Network.from_module(module)
    return ([(folding, mult) for folding, _, mult, *_ in network.ir_choices()],
            [edge.ir_depth for edge in network.edges])


def test_weights_move_to_fit_at_the_same_foldings_and_depths():
    # NET on ZCU102 keeps the conv's and the linear's weights in LUTRAM; with 50 LUT less than it uses,
    # moving the linear's 10x64 weights into BRAM (plenty left) frees enough
    module, sized = _explored_net()
    memories = {m.op.name: m.ir_memory() for m in Network.from_module(module).nodes if m.has_weights}
    assert memories == {"dataflow.conv": "lutram", "dataflow.linear": "lutram"}
    before, timing = _design(module), simulate(module)
    platform = load_platform("zcu102")
    limits = {k: 0.9 * getattr(platform, k) for k in RESOURCES} | {"lut": sized.lut - 50}
    assert _place_weights_within(module, platform, limits, sized)
    network = Network.from_module(module)
    totals = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    assert not totals.overshoot(limits) and totals.ii == sized.ii and totals.fifo_depths == sized.fifo_depths
    assert "bram" in {m.ir_memory() for m in network.nodes if m.has_weights}
    assert _design(module) == before and simulate(module).completions == timing.completions


def test_no_moves_that_fit_leave_the_design_alone():
    # 5,000 LUT less: more than moving every weight memory out of LUTRAM frees
    module, sized = _explored_net()
    before = _design(module), [m.ir_memory() for m in Network.from_module(module).nodes]
    platform = load_platform("zcu102")
    limits = {k: 0.9 * getattr(platform, k) for k in RESOURCES} | {"lut": sized.lut - 5000}
    assert not _place_weights_within(module, platform, limits, sized)
    assert (_design(module), [m.ir_memory() for m in Network.from_module(module).nodes]) == before
