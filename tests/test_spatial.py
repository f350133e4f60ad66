"""Spatial parallelism (`pixels` adjacent columns per beat on graph inputs and dense convs): the
folding the verifier accepts, its cost on hand-computed cases, explore's choice only with
spatial=true, and clear errors from the HLS backend and the simulation, which do not build it yet."""

from __future__ import annotations

import pytest
from xdsl.dialects.builtin import IntegerAttr, i64
from xdsl.utils.exceptions import VerifyException

from dfcc.analyses.network import Network
from dfcc.analyses.simulation import simulate
from dfcc.backends.estimate import node_cost
from dfcc.backends.hls.emit import emit_design
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context
from dfcc.hardware.platforms import load_platform
from dfcc.passes.explore import Explore, explore
from dfcc.passes.zero_skip import to_zero_skipping
from tests.test_estimate import _conv_module, _fold, _node


def _stem():
    """A 3 -> 8 channel 3x3 stride-2 conv on a 32x32 image: reading the padded image (34x34 pixels,
    one per cycle) binds it once its channels are unrolled."""
    return _conv_module(3, 8, 3, 32, 2, 1)


def test_pixels_must_divide_the_widths():
    module = _stem()
    assert _node(module, "conv").folding_extents()["pixels"] == 16  # gcd(32 in, 16 out)
    assert _node(module, "in").folding_extents() == {"pixels": 32}
    _fold(_node(module, "conv"), pixels=3)
    with pytest.raises(VerifyException, match="pixels=3 does not divide 16"):
        module.verify()


def test_pixels_divide_cycles_and_multiply_multipliers():
    module = _stem()
    conv = _fold(_node(module, "conv"), coarse_in=3, coarse_out=8, fine=9)
    one = node_cost(conv)
    # fully unrolled channels and kernel: the read term (32+2)^2 = 1156 cycles, 3*8*9 multipliers
    assert one.cycles == 1156
    two = node_cost(_fold(conv, pixels=2))
    # two columns side by side (Ma et al.): 1156 / 2 cycles, twice the multipliers, two pixels per beat out
    assert (two.cycles, two.out_lanes) == (578, 16)
    assert two.mult_lut == 2 * one.mult_lut
    port = _fold(_node(module, "in"), pixels=4)
    assert node_cost(port).cycles == 32 * 32 // 4
    assert node_cost(port).out_lanes == 12


def test_explore_chooses_pixels_only_when_asked():
    network = Network.from_module(_stem())
    platform = load_platform("u250")
    _, plain = explore(network, platform, progress=False)
    assert plain.ii == 1156  # the padded image at one pixel per cycle
    choices, spatial = explore(network, platform, progress=False, spatial=True)
    assert spatial.ii < plain.ii / 2
    pixels = {m.name: folding[m.factors.index("pixels")] for m, (folding, *_) in zip(network.nodes, choices)
              if "pixels" in m.factors}
    assert pixels["conv"] > 1 and pixels["in"] > 1


def test_hls_and_simulation_refuse_pixels_by_name():
    module = _stem()
    Explore(platform="u250", spatial=True).apply(make_context(), module)
    module.verify()
    assert _node(module, "conv").int_prop("pixels") > 1
    with pytest.raises(DfccError, match=r"dataflow\.(source|conv) '(in|conv)': spatial parallelism \(pixels=\d+ per beat\) "
                                        r"is not built by the HLS backend yet"):
        emit_design(module)
    with pytest.raises(DfccError, match=r"pixels=\d+ per beat \(spatial parallelism\)"):
        simulate(module)
    for op in (_node(module, "conv"), _node(module, "in")):
        op.properties["pixels"] = IntegerAttr(1, i64)
    emit_design(module)  # one pixel per beat builds


def test_zero_skip_keeps_one_pixel_per_beat():
    module = _stem()
    conv = _fold(_node(module, "conv"), pixels=1)
    assert "pixels" not in to_zero_skipping(conv).properties  # an explored conv (pixels = 1 written) converts
    module = _stem()
    with pytest.raises(DfccError, match="pixels=2 per beat; a zero-skipping conv takes one"):
        to_zero_skipping(_fold(_node(module, "conv"), pixels=2))
