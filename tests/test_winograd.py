"""Winograd F(2,3) convolutions (`winograd` folding factor, conv.h conv_wino): two adjacent output columns of a
3-column kernel row from 4 multiplications instead of 6. The arithmetic proved exact, formulas by hand, the
cost model, the schedule against the estimate, C simulation bit-exact at 16 and 8 bits, and explore choosing it."""

import numpy as np
import pytest
from xdsl.dialects.builtin import IntegerAttr, StringAttr, i64

from dfcc.analyses.network import Network
from dfcc.analyses.simulation import simulate
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.dsp import multiplier_dsp
from dfcc.hardware.logic import winograd_logic
from dfcc.kinds import ConvOp
from dfcc.kinds.conv import folding_problem, winograd_pays, winograd_problem
from dfcc.kinds.cost import describe, node_cost
from dfcc.kinds.hls_mac import winograd_fx
from dfcc.kinds.hls_types import Fx
from dfcc.kinds.inner_product import INNER_PRODUCT_ATTR
from dfcc.passes.quantize import Quantize
from tests.csim_check import csim_equals_reference


def _lit(a: np.ndarray) -> str:
    return np.array2string(a, separator=", ", threshold=10**9, max_line_width=10**9)


def _graph(seed: int = 0) -> str:
    """conv0: 3x3 pad 1, 4 -> 8 with bias at 5x6 (even WO), a ReLU, conv1: 3x3 padded on the left only, 8 -> 6
    at 3x5 (odd WO, unsigned input), conv2: 3x3 pad (1, 1, 1, 2), 6 -> 4 at 3x6 (even WO)."""
    rng = np.random.default_rng(seed)
    w0, b0, w1, w2 = (rng.integers(-6, 7, size=s) / 8.0 for s in ((8, 4, 3, 3), (8,), (6, 8, 3, 3), (4, 6, 3, 3)))
    geometry = 'stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: {}>'
    return f"""builtin.module attributes {{dataflow.platform = "zcu102"}} {{
  func.func @main(%a: tensor<1x4x5x6xf32>) -> tensor<1x3x6x4xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x5x6xf32>) -> !dataflow.stream<1x5x6x4xf32>
    %w0 = dataflow.weights {{name = "w0", value = dense<{_lit(w0)}> : tensor<8x4x3x3xf32>}} : tensor<8x4x3x3xf32>
    %b0 = dataflow.weights {{name = "b0", value = dense<{_lit(b0)}> : tensor<8xf32>}} : tensor<8xf32>
    %c0 = dataflow.conv %s, %w0, %b0 {{name = "conv0", "dataflow.inner_product" = "direct", kernel = array<i64: 3, 3>, {geometry.format("1, 1, 1, 1")}}} : (!dataflow.stream<1x5x6x4xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> !dataflow.stream<1x5x6x8xf32>
    %r = dataflow.map %c0 {{name = "relu0"}} : !dataflow.stream<1x5x6x8xf32> -> !dataflow.stream<1x5x6x8xf32> {{
    ^bb0(%v: f32):
      %z = arith.constant 0.000000e+00 : f32
      %p = arith.cmpf ugt, %v, %z : f32
      %m = arith.select %p, %v, %z : f32
      dataflow.yield %m : f32
    }}
    %w1 = dataflow.weights {{name = "w1", value = dense<{_lit(w1)}> : tensor<6x8x3x3xf32>}} : tensor<6x8x3x3xf32>
    %c1 = dataflow.conv %r, %w1 {{name = "conv1", "dataflow.inner_product" = "direct", kernel = array<i64: 3, 3>, {geometry.format("0, 0, 1, 0")}}} : (!dataflow.stream<1x5x6x8xf32>, tensor<6x8x3x3xf32>) -> !dataflow.stream<1x3x5x6xf32>
    %w2 = dataflow.weights {{name = "w2", value = dense<{_lit(w2)}> : tensor<4x6x3x3xf32>}} : tensor<4x6x3x3xf32>
    %c2 = dataflow.conv %c1, %w2 {{name = "conv2", kernel = array<i64: 3, 3>, {geometry.format("1, 1, 1, 2")}}} : (!dataflow.stream<1x3x5x6xf32>, tensor<4x6x3x3xf32>) -> !dataflow.stream<1x3x6x4xf32>
    %t = dataflow.sink %c2 {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x3x6x4xf32>) -> tensor<1x3x6x4xf32>
    func.return %t : tensor<1x3x6x4xf32>
  }}
}}
"""


# conv0: 2 input lanes, 4 filters a step, a kernel row a step (3 steps); conv1: every channel, 4 of its 6 filters a
# step (the second step partly idle, output beats of 6), the whole kernel a step, its weights from DRAM; conv2: 3
# input lanes, 2 filters a step, two kernel rows a step (2 steps, the last one half idle), half its words on chip
FOLDINGS = {"conv0": dict(coarse_in=2, coarse_out=4, fine=3), "conv1": dict(coarse_in=8, coarse_out=4, fine=9),
            "conv2": dict(coarse_in=3, coarse_out=2, fine=6)}
MEMORY = {"conv1": {"dataflow.weights_memory": "off_chip"}, "conv2": {"dataflow.weights_on_chip": 50}}


def _convs(module) -> dict[str, ConvOp]:
    return {op.node_name.data: op for op in module.walk() if isinstance(op, ConvOp)}


def _winograd(bits: int, seed: int = 0, winograd: int = 2):
    """The graph quantized to `bits`, its convs folded as FOLDINGS with the `winograd` factor."""
    from xdsl.dialects.builtin import StringAttr

    module = parse_module(_graph(seed))
    Quantize(weight_bits=bits, act_bits=bits).apply(make_context(), module)
    for name, op in _convs(module).items():
        for factor, value in {**FOLDINGS[name], "winograd": winograd}.items():
            op.properties[factor] = IntegerAttr(value, i64)
        for key, value in MEMORY.get(name, {}).items():
            op.attributes[key] = StringAttr(value) if isinstance(value, str) else IntegerAttr(value, i64)
    relu = next(op for op in module.walk() if getattr(op, "name", "") == "dataflow.map")
    relu.properties["coarse"] = IntegerAttr(8, i64)  # all 8 channels a beat: the convs bound the II
    module.verify()
    return module


@pytest.mark.parametrize("bits, bounded", [(16, False), (8, False), (16, True)], ids=["16", "8", "16-bounded"])
def test_winograd_csim_bit_exact(bits, bounded):
    """The three convs with Winograd (even and odd output widths, padding 0 and 1, a signed and an unsigned input,
    CI/CO/FINE variants, a partly idle filter step, weights on chip, from DRAM and split): C simulation equals the
    CPU reference bit for bit, also with every FIFO at its depth."""
    from dfcc.backends.hls.emit import emit_design

    module = _winograd(bits)
    assert emit_design(module).files["top.cpp"].count("dfcc::conv_wino<") == 3
    x = np.random.default_rng(bits).standard_normal((1, 4, 5, 6)).astype(np.float32) * 2
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0


def _f23(d: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """V, U (per triple) and twice the two outputs of F(2,3) over the triples (axis 0), integers."""
    v = np.stack([d[..., 0] - d[..., 2], d[..., 1] + d[..., 2], d[..., 2] - d[..., 1], d[..., 1] - d[..., 3]], -1)
    u = np.stack([2 * g[..., 0], g.sum(-1), g[..., 0] - g[..., 1] + g[..., 2], 2 * g[..., 2]], -1)
    m = (v * u).sum(0)  # summed over the triples
    return v, u, m[..., 0] + m[..., 1] + m[..., 2], m[..., 1] - m[..., 2] - m[..., 3]


def test_f23_is_exact_and_its_types_hold_the_worst_case():
    """On integer codes (the kernel's types are integers times a power of two) F(2,3) gives twice the direct
    sums exactly, and the worst case of each intermediate (extreme inputs and weights, 36 triples) lies in
    the range of winograd_fx's types, signed and unsigned inputs: no product or sum of conv_mac_wino rounds or
    wraps, so its output is the exact sum the CPU reference computes."""
    rng = np.random.default_rng(0)
    for x_fx, w_fx in ((Fx(16, 3), Fx(16, 1)), (Fx(16, 4, False), Fx(16, 1)), (Fx(8, 2), Fx(8, 1)),
                       (Fx(8, 8, False), Fx(8, 8, False))):
        xlo, xhi = (-(2 ** (x_fx.width - 1)), 2 ** (x_fx.width - 1) - 1) if x_fx.signed else (0, 2 ** x_fx.width - 1)
        wlo, whi = (-(2 ** (w_fx.width - 1)), 2 ** (w_fx.width - 1) - 1) if w_fx.signed else (0, 2 ** w_fx.width - 1)
        terms = 36
        d = np.concatenate([rng.integers(xlo, xhi + 1, (terms, 500, 4)),
                            np.array([xlo, xhi])[rng.integers(0, 2, (terms, 500, 4))]], 1).astype(object)
        g = np.concatenate([rng.integers(wlo, whi + 1, (terms, 500, 3)),
                            np.array([wlo, whi])[rng.integers(0, 2, (terms, 500, 3))]], 1).astype(object)
        v, u, even, odd = _f23(d, g)
        assert np.array_equal(even, 2 * (d[..., :3] * g).sum((0, 2)))
        assert np.array_equal(odd, 2 * (d[..., 1:] * g).sum((0, 2)))
        v_fx, u_fx, m_fx = winograd_fx(x_fx, w_fx, terms)
        # in units of each type's lsb: a signed type of W bits holds -2^(W-1) .. 2^(W-1)-1
        assert v_fx.frac == x_fx.frac and u_fx.frac == w_fx.frac and m_fx.frac == x_fx.frac + w_fx.frac
        def fits(f: Fx, lo: int, hi: int) -> bool:  # a signed type of W bits holds -2^(W-1) .. 2^(W-1)-1 lsb
            return f.signed and -(2 ** (f.width - 1)) <= lo and hi < 2 ** (f.width - 1)

        v_range = (min(xlo - xhi, 2 * xlo), max(xhi - xlo, 2 * xhi))  # a difference or a sum of two inputs
        u_range = (min(3 * wlo, 2 * wlo - whi), max(3 * whi, 2 * whi - wlo))  # g0 +- g1 + g2 at the extremes
        assert fits(v_fx, *v_range) and fits(u_fx, *u_range)
        assert v_range[0] <= v.min() and v.max() <= v_range[1] and u_range[0] <= u.min() and u.max() <= u_range[1]
        # the sums of three M: at most 3 x terms x the largest product
        worst = 3 * terms * max(map(abs, v_range)) * max(map(abs, u_range))
        assert fits(m_fx, -worst, worst)


def test_winograd_types_by_hand():
    """conv0 of the test graph: 16-bit input ap_fixed<16, 3>, weights <16, 1>, 4 channels x 3 kernel rows = 12
    triples: V one bit wider (17, 4), U two (18, 3), M 17 + 18 bits and ceil(log2 12) + 2 = 6 more (41, 13); an
    unsigned input (ap_ufixed<16, 4>, after a ReLU) takes a sign bit more in V. At 16 bits V x U (17 x 18 or 18 x
    18) is one DSP48E2 multiplier (27 x 18); at 8 bits (9 x 10) two no longer share a DSP (WP486 needs 8 bits)."""
    assert winograd_fx(Fx(16, 3), Fx(16, 1), 12) == (Fx(17, 4), Fx(18, 3), Fx(41, 13))
    assert winograd_fx(Fx(16, 4, False), Fx(16, 1), 72)[0] == Fx(18, 6)
    assert multiplier_dsp(32, 17, 18) == 32 and multiplier_dsp(32, 18, 18) == 32
    assert multiplier_dsp(32, 9, 10) == 32 and multiplier_dsp(24, 8, 8) == 12


def test_transform_logic_by_hand():
    """conv0 (2 channels x a kernel row a step: 2 triples, 4 filters): input transforms 2 x 4 adders of 17 bits,
    weight transforms 2 x 4 x 3 of 18, output transforms 4 x 4 of 41: 136 + 432 + 656 LUTs and as many FFs."""
    assert winograd_logic(2, 4, 17, 18, 41).lut == 136 + 432 + 656 == 1224
    assert winograd_logic(2, 4, 17, 18, 41).ff == 1224


def test_winograd_cost_by_hand():
    """conv0 at 5x6, 2 input lanes (2 beats a pixel), 4 filters a step (2 steps), a kernel row a step (3): direct
    24 multipliers and 30 pixels x 2 x 2 x 3 = 360 cycles; Winograd 4/3 the multipliers (32, a DSP each) for 15
    pairs x 12 = 180 cycles, the weights swept 15 times instead of 30. conv1's two words of 4 x 8 x 9 16-bit
    weights stream from DRAM once per pair, 9 times (3 rows x ceil(5/2)): 82,944 bits instead of 138,240; it is
    input-bound, its walk a padded column longer (odd WO): 5 rows x 8 columns = 40 cycles, not 35."""
    direct, wino = (_convs(_winograd(16, winograd=n)) for n in (1, 2))
    d0, w0 = node_cost(direct["conv0"]), node_cost(wino["conv0"])
    assert (d0.multipliers, d0.dsp, d0.cycles, d0.weight_sweeps) == (24, 24, 360, 30)
    assert (w0.multipliers, w0.dsp, w0.cycles, w0.weight_sweeps) == (32, 32, 180, 15)
    d1, w1 = node_cost(direct["conv1"]), node_cost(wino["conv1"])
    assert (d1.offchip_bits, w1.offchip_bits) == (2 * 4 * 8 * 9 * 16 * 15, 2 * 4 * 8 * 9 * 16 * 9) == (138_240, 82_944)
    assert (d1.cycles, w1.cycles) == (35, 40)
    # in fabric each multiplier is V x U at the kernel's widths: 17 x 18 for conv0's signed input, 18 x 18 for
    # conv1's unsigned one (after the ReLU)
    assert (w0.mult_lut, w1.mult_lut) == (32 * 17 * 18, 384 * 18 * 18)
    # and the transforms' logic on top of the MACs
    assert w0.lut > d0.lut + 1224


def test_winograd_needs_a_legal_conv():
    """winograd=2 is refused with its reason: fine not whole kernel rows, tiles, float streams; explore is not
    offered it where it is illegal."""
    module = _winograd(16)
    conv0 = _convs(module)["conv0"]
    assert folding_problem(conv0, conv0.folding()) is None and winograd_problem(conv0) is None
    assert "fine a multiple of 3" in folding_problem(conv0, {**conv0.folding(), "fine": 5})
    assert "pixels=1, tile=1" in folding_problem(conv0, {**conv0.folding(), "tile": 5})
    conv0.properties["fine"] = IntegerAttr(5, i64)
    with pytest.raises(Exception, match=r"winograd=2 \(Winograd F\(2,3\)\) needs pixels=1, tile=1 and fine"):
        conv0.verify()
    conv = _convs(parse_module(_graph()))["conv0"]
    assert winograd_problem(conv) == "needs fixed-point streams (run quantize first)"
    assert conv.folding_extents()["winograd"] == 1
    conv.properties["winograd"] = IntegerAttr(2, i64)
    with pytest.raises(Exception, match="needs fixed-point streams"):
        conv.verify()


def test_explore_offers_winograd_apart():
    """Explore's options: Winograd only at fine 3 or 9 (whole kernel rows: 6 is not the least fine of its step
    count), and the direct options are those it had without the factor (Winograd's are sifted apart)."""
    conv1 = _convs(_winograd(16, winograd=1))["conv1"]
    model = describe(conv1)
    options = model.folding_options(frozenset({"pixels", "tile"}))
    wino = [o for o in options if o[-1] == 2]
    assert wino and {o[3] for o in wino} == {3, 9}
    direct = model.folding_options(frozenset({"pixels", "tile", "winograd"}))
    assert [o for o in options if o[-1] == 1] == direct


def test_explore_offers_winograd_only_where_it_takes_fewer_dsps():
    """`winograd_pays`: at 16 bits 4 products of 17 x 18 take 4 DSPs against the direct 6 (16 x 16, one a DSP);
    at 8 bits 4 of 9 x 10 take 4 against 6 direct ones packed two a DSP, 3: explore offers no Winograd folding
    there (an unused option still moved explore's search: unet q8 on ZCU102 from II 1,156 to 1,280)."""
    for bits, pays in ((16, True), (8, False)):
        conv1 = _convs(_winograd(bits, winograd=1))["conv1"]
        assert winograd_pays(conv1) is pays
        options = describe(conv1).folding_options(frozenset({"pixels", "tile"}))
        assert any(o[-1] == 2 for o in options) is pays


def test_simulation_agrees_with_the_estimate():
    """The cycle-level simulation of conv_wino's loop nests (schedules.py: the walk of pair windows, the MACs by
    pair, the splitter) gives the estimate's II: conv0's 180 cycles, half the direct design's 360."""
    for winograd, ii in ((1, 360), (2, 180)):
        module = _winograd(16, winograd=winograd)
        network = Network.from_module(module)
        estimate = network.evaluate(network.ir_choices(), respect_ir_depths=True)
        simulated = simulate(module)
        assert not simulated.deadlock
        assert estimate.ii == ii
        assert abs(simulated.ii - estimate.ii) <= 0.05 * estimate.ii


def _dsp_bound_graph() -> str:
    """Two 3x3 convs at odd output widths, 16 -> 16 (pad 1, 12x15) and 16 -> 8 (pad 0, 10x13), a ReLU between:
    more MACs than a ZedBoard's 220 DSPs take at one output pixel a cycle; their products one by one (FFIP, which
    takes fewer DSPs than Winograd, not offered)."""
    rng = np.random.default_rng(3)
    w0, b0, w1 = (rng.integers(-6, 7, size=s) / 8.0 for s in ((16, 16, 3, 3), (16,), (8, 16, 3, 3)))
    geometry = 'stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: {}>'
    return f"""builtin.module {{
  func.func @main(%a: tensor<1x16x12x15xf32>) -> tensor<1x10x13x8xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x16x12x15xf32>) -> !dataflow.stream<1x12x15x16xf32>
    %w0 = dataflow.weights {{name = "w0", value = dense<{_lit(w0)}> : tensor<16x16x3x3xf32>}} : tensor<16x16x3x3xf32>
    %b0 = dataflow.weights {{name = "b0", value = dense<{_lit(b0)}> : tensor<16xf32>}} : tensor<16xf32>
    %c0 = dataflow.conv %s, %w0, %b0 {{name = "conv0", "dataflow.inner_product" = "direct", kernel = array<i64: 3, 3>, {geometry.format("1, 1, 1, 1")}}} : (!dataflow.stream<1x12x15x16xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> !dataflow.stream<1x12x15x16xf32>
    %r = dataflow.map %c0 {{name = "relu0"}} : !dataflow.stream<1x12x15x16xf32> -> !dataflow.stream<1x12x15x16xf32> {{
    ^bb0(%v: f32):
      %z = arith.constant 0.000000e+00 : f32
      %p = arith.cmpf ugt, %v, %z : f32
      %m = arith.select %p, %v, %z : f32
      dataflow.yield %m : f32
    }}
    %w1 = dataflow.weights {{name = "w1", value = dense<{_lit(w1)}> : tensor<8x16x3x3xf32>}} : tensor<8x16x3x3xf32>
    %c1 = dataflow.conv %r, %w1 {{name = "conv1", "dataflow.inner_product" = "direct", kernel = array<i64: 3, 3>, {geometry.format("0, 0, 0, 0")}}} : (!dataflow.stream<1x12x15x16xf32>, tensor<8x16x3x3xf32>) -> !dataflow.stream<1x10x13x8xf32>
    %t = dataflow.sink %c1 {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x10x13x8xf32>) -> tensor<1x10x13x8xf32>
    func.return %t : tensor<1x10x13x8xf32>
  }}
}}
"""


def test_explore_picks_winograd_and_its_design_is_exact():
    """On a ZedBoard explore (FIFO sizing included) gives the DSP-bound convs Winograd; the simulation keeps the
    estimate's II and the C simulation with every FIFO at the depth explore chose equals the CPU reference."""
    from dfcc.passes.explore import Explore

    module = parse_module(_dsp_bound_graph())
    Quantize(weight_bits=16, act_bits=16).apply(make_context(), module)
    Explore(platform="zedboard").apply(make_context(), module)
    assert any(op.int_prop("winograd") == 2 for op in _convs(module).values())
    network = Network.from_module(module)
    estimate = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    simulated = simulate(module)
    assert not simulated.deadlock
    assert abs(simulated.ii - estimate.ii) <= 0.05 * estimate.ii
    x = np.random.default_rng(5).standard_normal((1, 16, 12, 15)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded=True)).max() > 0


@pytest.mark.slow
def test_unet_at_16_bits_takes_winograd_and_stays_exact():
    """The bundled U-Net at 16 bits on a ZCU102 (DSP-bound, its 3x3 convs dominating): explore gives most of its
    convs Winograd; the estimate's II is the simulation's (2,048 cycles when measured), the first-inference latency
    within 10 %, and the C simulation, also at explore's FIFO depths, equals the CPU reference bit for bit."""
    pytest.importorskip("torch_mlir.fx")
    from dfcc.backends.estimate import Estimate
    from tests.test_csim import compiled

    from dfcc.passes.explore import Explore

    module = compiled("unet", "lower-to-dataflow,quantize{weight-bits=16 act-bits=16}")
    for conv in _convs(module).values():  # products one by one: FFIP, which takes fewer DSPs still, not offered
        conv.attributes[INNER_PRODUCT_ATTR] = StringAttr("direct")
    Explore(platform="zcu102").apply(make_context(), module)
    assert sum(op.int_prop("winograd") == 2 for op in _convs(module).values()) >= 5
    simulated, estimate = simulate(module), Estimate.of_module(module).totals
    assert not simulated.deadlock
    assert abs(estimate.ii - simulated.ii) <= 0.05 * simulated.ii
    assert abs(estimate.latency_cycles - simulated.latency) <= 0.10 * simulated.latency
    source = next(op for op in module.walk() if op.name == "dataflow.source")
    x = np.random.default_rng(0).standard_normal(source.operands[0].type.get_shape()).astype(np.float32)
    for bounded in (False, True):
        assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0
