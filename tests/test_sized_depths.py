"""The stream depths explore writes are those the FIFO sizing found, a default one too, and the estimate takes them
as they are while the design is the one they were sized for (analyses/sized_depths.py)."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from xdsl.dialects.builtin import IntegerAttr, i64  # noqa: E402

from dfcc.analyses.fifo_sizing import size_fifos  # noqa: E402
from dfcc.analyses.network import Network  # noqa: E402
from dfcc.analyses.simulation import simulate  # noqa: E402
from dfcc.analyses.sized_depths import depths_sized  # noqa: E402
from dfcc.backends.output import module_text  # noqa: E402
from dfcc.driver.pipeline import parse_pipeline  # noqa: E402
from dfcc.examples.models import MODELS  # noqa: E402
from dfcc.frontends.mlir import make_context, parse_module  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.passes.registry import get_pass  # noqa: E402


@pytest.fixture(scope="module")
def explored():
    """vit_block explored for ZCU102: two of its forks' streams the search costs at 75 beats size at the default."""
    spec = MODELS["vit_block"]
    module = parse_module(module_text(import_module(spec.build(), *spec.inputs())))
    for step in parse_pipeline("lower-to-dataflow,explore{platform=zcu102}"):
        step.instantiate(get_pass(step.name)).apply(make_context(), module)
    return module


def _named(network: Network, e: int) -> tuple[str, str]:
    edge = network.edges[e]
    return network.nodes[edge.producer].name, network.nodes[edge.consumer].name


def test_explore_writes_the_sized_depths_and_the_estimate_takes_them(explored):
    module = explored.clone()
    assert depths_sized(module)
    network = Network.from_module(module)
    sizing = size_fifos(module)
    assert all(e.ir_depth == sizing.depths[e.value] for e in network.edges if e.value in sizing.depths)
    costed = network.evaluate(network.ir_choices()).fifo_depths  # the search's model of them
    # the model's deeper FIFOs the design does not need: the forks' streams into the attention's maps
    assert {_named(network, e) for e, depth in costed.items() if depth > 2 >= network.edges[e].ir_depth} == {
        ("fork3", "map16"), ("fork4", "map17")}
    estimated = network.evaluate(network.ir_choices(), respect_ir_depths=True).fifo_depths
    assert estimated == {i: e.ir_depth for i, e in enumerate(network.edges) if e.ir_depth > 2 or e.ir_memory != "auto"}
    assert simulate(module).ii == sizing.unbounded.ii  # the design keeps its II at those depths


def test_a_changed_design_is_no_longer_taken_as_sized(explored):
    module = explored.clone()
    network = Network.from_module(module)
    conv = next(m.op for m in network.nodes if "coarse_out" in m.op.folding_extents())
    conv.properties["coarse_out"] = IntegerAttr(1 if conv.int_prop("coarse_out") > 1 else 2, i64)
    assert not depths_sized(module)
    changed = Network.from_module(module)
    assert not changed.sized
    estimated = changed.evaluate(changed.ir_choices(), respect_ir_depths=True).fifo_depths
    assert any(d > 2 >= changed.edges[e].ir_depth for e, d in estimated.items())  # its own depths costed again
