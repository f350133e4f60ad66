"""Winograd's fast inner product (FFIP) in the MAC kernels (hardware/ffip.py, inner_product.h, kinds/inner_product.py
pairs_products, kinds/hls_mac.py): hand-computed costs, the folded w-only terms, and C simulations bit-exact against
the CPU reference at 16 and 12 bits, signed and unsigned inputs, odd and even products a step, partly idle filter
steps, FINE not dividing KR*KC, P > 1 pixels, weight-stationary tiles, weights streamed from DRAM, and a linear
layer (linear.h)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dfcc.frontends.mlir import parse_module
from dfcc.hardware.ffip import (
    ffip_adder_luts, ffip_dsp, ffip_mult_lut, ffip_multipliers, ffip_pairs, ffip_pays, operand_bits,
)
from dfcc.hardware.memory import lutram_luts
from dfcc.kinds.conv import ConvOp
from dfcc.kinds.linear import LinearOp
from dfcc.kinds.inner_product import INNER_PRODUCT_ATTR, pairs_products
from dfcc.kinds.cost import node_cost
from dfcc.kinds.hls_mac import w_only_terms
from xdsl.dialects.builtin import StringAttr


def test_ffip_formulas_hand_computed():
    assert ffip_pairs(9) == 5 and ffip_pairs(8) == 4 and ffip_pairs(1) == 1
    # 16 filters of 9 products: 16*5 pair products and 5 shared x-only ones, 85 against 144 direct
    assert ffip_multipliers(16, 9) == (80, 5)
    assert ffip_multipliers(16, 9, copies=2) == (160, 10)
    # x + w: 17 bits for two signed 16-bit codes, 18 with an unsigned 16-bit x (its sign bit first)
    assert operand_bits(16, True, 16) == 17 and operand_bits(16, False, 16) == 18 and operand_bits(12, True, 8) == 13
    # 17 x 17 and 18 x 18 take one DSP48E2 (27 x 18): 80 + 5 DSPs
    assert ffip_dsp(80, 5, 16, True, 16) == 85 and ffip_dsp(80, 5, 16, False, 16) == 85
    # fabric: 80 * (17*17 array + 17 adder) + 5 * 16*16 = 24,480 + 1,280
    assert ffip_mult_lut(80, 5, 16, True, 16) == 25_760
    # the pre-adder takes one sum a product, the other 17 LUTs
    assert ffip_adder_luts(80, 16, True, 16) == 1_360


@pytest.mark.parametrize("filters, products, bits, signed, pays", [
    (16, 9, 16, True, True),
    (2, 2, 16, True, True),    # 2 + 1 < 4
    (1, 9, 16, True, False),   # one filter: 5 + 5 > 9
    (4, 1, 16, True, False),   # one product a step: 4 + 1 > 4
    (2, 3, 16, True, False),   # 2*2 + 2 = 6 = 2*3
    (3, 3, 16, True, True),    # 3*2 + 2 = 8 < 9
    (16, 9, 8, True, False),   # 8 bits: WP486 packs two products a DSP already
    (16, 9, 12, False, True),
    (16, 9, 26, True, True),   # 27 x 27: 2 DSPs, as a 26 x 26 direct product
    (16, 9, 27, True, False),  # 28 x 28: 4 DSPs against 2
])
def test_ffip_pays_where_it_takes_fewer_dsps(filters, products, bits, signed, pays):
    assert ffip_pays(filters, products, bits, signed, bits) is pays


def test_w_only_terms_follow_conv_mac_order():
    # one filter, 2 channels, 1x3 kernel, codes 1..6: (c0: 1 2 3, c1: 4 5 6)
    codes = np.arange(1, 7).reshape(1, 2, 1, 3)
    # one channel a beat, fine 2: beat c0 steps (1 2) (3 0), beat c1 (4 5) (6 0): 1*2 + 4*5 = 22
    assert w_only_terms(codes, 1, 2).tolist() == [22]
    # both channels a beat, fine 3: one step (1 2 3 4 5 6): 1*2 + 3*4 + 5*6 = 44
    assert w_only_terms(codes, 2, 3).tolist() == [44]
    # both channels, fine 2: steps (1 2 3 4) (5 6 0 0): 2 + 12 + 30 = 44
    assert w_only_terms(codes, 2, 2).tolist() == [44]
    # fine 1, odd steps of one product pair with a zero: no w-only term
    assert w_only_terms(codes, 1, 1).tolist() == [0]


def _dense(values: np.ndarray) -> str:
    return f"dense<{json.dumps(values.tolist())}>"


def _conv_text(name: str, x: str, c: int, f: int, k: int, x_type: str, y_type: str, w: np.ndarray,
               b: np.ndarray | None, w_fmt: str, folding: dict, attrs: str = "", hw: int = 6) -> tuple[str, str]:
    """One conv's IR (its weights and bias ops) from stream `x` [1, hw, hw, c] to `%{name}`."""
    pad = k // 2
    ops = [f'    %{name}_w = dataflow.weights {{value = {_dense(w)} : tensor<{f}x{c}x{k}x{k}xf32>, name = "{name}_w", '
           f'format = {w_fmt}}} : tensor<{f}x{c}x{k}x{k}xf32>']
    operands, types = f"%{x}, %{name}_w", f"!dataflow.stream<1x{hw}x{hw}x{c}x{x_type}>, tensor<{f}x{c}x{k}x{k}xf32>"
    if b is not None:
        ops.append(f'    %{name}_b = dataflow.weights {{value = {_dense(b)} : tensor<{f}xf32>, name = "{name}_b", '
                   f'format = {w_fmt}}} : tensor<{f}xf32>')
        operands, types = operands + f", %{name}_b", types + f", tensor<{f}xf32>"
    fold = ", ".join(f"{key} = {value} : i64" for key, value in folding.items())
    ops.append(f'    %{name} = dataflow.conv {operands} {{name = "{name}", kernel = array<i64: {k}, {k}>, '
               f'stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: {pad}, {pad}, {pad}, {pad}>, '
               f'{fold}, "{INNER_PRODUCT_ATTR}" = "ffip"{attrs}}} : ({types}) -> !dataflow.stream<1x{hw}x{hw}x{f}x{y_type}>')
    return "\n".join(ops), y_type


def _chain(bits: int, seed: int) -> str:
    """Four FFIP convs and a linear layer in a chain, each a case the kernels must pair right (module docstring)."""
    rng = np.random.default_rng(seed)
    wf = bits - 2  # weights fixed<bits, 2>

    def weights(*shape):
        return rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), shape) / 2.0 ** wf

    signed, unsigned = f"!dataflow.fixed<{bits}, 4>", f"!dataflow.fixed<{bits}, 4, unsigned, rnd, sat>"
    out = f"!dataflow.fixed<{bits}, 6, rnd, sat>"
    w_fmt = f"!dataflow.fixed<{bits}, 2>"
    # 3 -> 8: 12 products a step (fine 4 of 9: the last step 3 of 12 slots busy), filters 3 a step (8 % 3: idle lanes)
    a, _ = _conv_text("conv0", "x", 3, 8, 3, signed, unsigned, weights(8, 3, 3, 3), weights(8), w_fmt,
                      dict(coarse_in=3, coarse_out=3, fine=4))
    # 8 -> 6, unsigned input, 3 products a step (odd: the last paired with a zero), 4 filters a step (6 % 4), no bias,
    # half of its 4*2 + 2 multipliers on DSPs, the others in fabric (multiply.h split_mul<5>)
    b, _ = _conv_text("conv1", "conv0", 8, 6, 3, unsigned, signed, weights(6, 8, 3, 3), None, w_fmt,
                      dict(coarse_in=1, coarse_out=4, fine=3),
                      ', "dataflow.mult_impl" = "lut", "dataflow.dsp_share" = 50 : i64')
    # 6 -> 4, 3x3, weight-stationary tiles of 12 pixels (conv_mac_tiled), 6*2 products a step (fine 2 of 9), weights
    # streamed from DRAM, a wrapping accumulator narrower than the exact sum
    c, _ = _conv_text("conv2", "conv1", 6, 4, 3, signed, signed, weights(4, 6, 3, 3), weights(4), w_fmt,
                      dict(coarse_in=6, coarse_out=4, fine=2, tile=12),
                      f', "dataflow.weights_memory" = "off_chip", acc_format = !dataflow.fixed<{bits + 6}, 8>')
    # 4 -> 4, two pixels a beat (conv_px: P = 2 copies), 4*5 products a step
    d, _ = _conv_text("conv3", "conv2", 4, 4, 3, signed, signed, weights(4, 4, 3, 3), weights(4), w_fmt,
                      dict(coarse_in=4, coarse_out=4, fine=5, pixels=2))
    # a linear layer 4 -> 6 over the pixels (linear.h): 3 output lanes of 2 products a step, 3 + 1 multipliers
    e = (f'    %fc_w = dataflow.weights {{value = {_dense(weights(6, 4))} : tensor<6x4xf32>, name = "fc_w", '
         f'format = {w_fmt}}} : tensor<6x4xf32>\n'
         f'    %fc_b = dataflow.weights {{value = {_dense(weights(6))} : tensor<6xf32>, name = "fc_b", '
         f'format = {w_fmt}}} : tensor<6xf32>\n'
         f'    %fc = dataflow.linear %conv3, %fc_w, %fc_b {{name = "fc", coarse_in = 2 : i64, coarse_out = 3 : i64, '
         f'"{INNER_PRODUCT_ATTR}" = "ffip"}} : (!dataflow.stream<1x6x6x4x{signed}>, tensor<6x4xf32>, tensor<6xf32>) '
         f'-> !dataflow.stream<1x6x6x6x{out}>')
    return f"""builtin.module attributes {{dataflow.platform = "u250"}} {{
  func.func @main(%arg0: tensor<1x3x6x6xf32>) -> tensor<1x6x6x6xf32> {{
    %x = dataflow.source %arg0 {{name = "input0", perm = array<i64: 0, 2, 3, 1>, pixels = 1 : i64}} : (tensor<1x3x6x6xf32>) -> !dataflow.stream<1x6x6x3x{signed}>
{a}
{b}
{c}
{d}
{e}
    %y = dataflow.sink %fc {{name = "output0", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x6x6x6x{out}>) -> tensor<1x6x6x6xf32>
    func.return %y : tensor<1x6x6x6xf32>
  }}
}}
"""


def test_conv_cost_with_ffip_hand_computed():
    module = parse_module(_chain(16, 0))
    conv0 = next(op for op in module.walk() if isinstance(op, ConvOp) and op.node_name.data == "conv0")
    ffip = node_cost(conv0)
    conv0.attributes[INNER_PRODUCT_ATTR] = StringAttr("direct")
    direct = node_cost(conv0)
    assert pairs_products(conv0, conv0.folding()) is False
    # 3 filters of 3*4 = 12 products: 3*6 + 6 = 24 multipliers (17 x 17 and 16 x 16: a DSP each) against 36
    assert (direct.multipliers, direct.dsp) == (36, 36)
    assert (ffip.multipliers, ffip.dsp) == (24, 24)
    assert ffip.cycles == direct.cycles
    assert ffip.mult_lut == 18 * (17 * 17 + 17) + 6 * 16 * 16
    # LUTs: 12 fewer MAC adders (32-bit accumulators without acc_format), 18 fabric operand sums of 17 bits, the
    # bias ROM (16 bits a filter lane) as the folded one at the accumulator's 32, 3 lanes x ceil(8/3) = 3 deep
    bias_change = lutram_luts(32 * 3, 3) - lutram_luts(16 * 3, 3)
    assert ffip.lut - direct.lut == -12 * 32 + 18 * 17 + bias_change
    fc = next(op for op in module.walk() if isinstance(op, LinearOp))
    ffip = node_cost(fc)
    fc.attributes[INNER_PRODUCT_ATTR] = StringAttr("direct")
    # 3 output lanes of 2 products: 3*1 + 1 multipliers against 6
    assert (ffip.multipliers, ffip.dsp, node_cost(fc).multipliers, node_cost(fc).dsp) == (4, 4, 6, 6)


@pytest.mark.parametrize("bits", [16, 12])
def test_ffip_convs_csim_bit_exact(bits):
    pytest.importorskip("hls4ml")
    from dfcc.analyses.reference import run_reference
    from dfcc.backends.hls.csim import csim
    from dfcc.backends.hls.emit import emit_design

    module = parse_module(_chain(bits, bits))
    module.verify()
    macs = [op for op in module.walk() if isinstance(op, (ConvOp, LinearOp))]
    assert len(macs) == 5 and all(pairs_products(op, op.folding()) for op in macs)
    top = emit_design(module).files["top.cpp"]
    assert top.count("dfcc::ffip_product>") == 5 and "dfcc::conv_px<" in top and "dfcc::conv_tiled<" in top
    assert "dfcc::split_mul<5>, dfcc::ffip_product>" in top
    x = np.random.default_rng(1).uniform(-7, 7, (1, 3, 6, 6)).astype(np.float32)
    result = csim(module, [x])
    assert result.warnings == [], result.warnings
    (out,), (ref,) = result.outputs, run_reference(module, [x])
    assert np.array_equal(out, ref), f"{np.sum(out != ref)} of {out.size} values differ"
    assert np.count_nonzero(ref) > ref.size // 2  # not a saturated or zero output


@pytest.mark.parametrize("name, bits", [("cnn", 16), pytest.param("resnet18_small", 16, marks=pytest.mark.slow),
                                        pytest.param("unet", 12, marks=pytest.mark.slow)])
def test_explored_model_with_ffip_csim_bit_exact(name, bits):
    """explore keeps a user's "ffip" on every MAC node (pairing where it pays at the folding it picks); the design
    is the CPU reference's bit for bit."""
    pytest.importorskip("torch")
    pytest.importorskip("hls4ml")
    from dfcc.analyses.reference import run_reference
    from dfcc.backends.hls.csim import csim
    from dfcc.frontends.mlir import make_context
    from dfcc.passes.explore import Explore
    from tests.test_csim import MODELS, compiled

    module = compiled(name, f"lower-to-dataflow,quantize{{weight-bits={bits} act-bits={bits}}}")
    for op in module.walk():
        if isinstance(op, (ConvOp, LinearOp)):
            op.attributes[INNER_PRODUCT_ATTR] = StringAttr("ffip")
    Explore(platform="zcu102").apply(make_context(), module)
    paired = [op for op in module.walk() if isinstance(op, (ConvOp, LinearOp)) and pairs_products(op, op.folding())]
    assert paired
    inputs = [x.numpy() for x in MODELS[name].inputs(seed=1)]
    result = csim(module, inputs)
    assert result.warnings == [], result.warnings
    for out, ref in zip(result.outputs, run_reference(module, inputs)):
        assert np.array_equal(out, ref), f"{np.sum(out != ref)} of {out.size} values differ"


def test_winograd_conv_pairs_no_products():
    """A conv at winograd = 2 multiplies Winograd's transforms (conv_mac_wino): its "ffip" asks for nothing there,
    so its cost is the one without it; at winograd = 1 the same conv pairs its products."""
    rng = np.random.default_rng(3)
    fmt = "!dataflow.fixed<16, 4>"
    conv, _ = _conv_text("conv0", "x", 3, 4, 3, fmt, fmt, rng.integers(-64, 64, (4, 3, 3, 3)) / 16.0, None,
                         "!dataflow.fixed<16, 4>", dict(coarse_in=3, coarse_out=4, fine=3, winograd=2))
    module = parse_module(f"""builtin.module attributes {{dataflow.platform = "u250"}} {{
  func.func @main(%arg0: tensor<1x3x6x6xf32>) -> tensor<1x6x6x4xf32> {{
    %x = dataflow.source %arg0 {{name = "input0", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x3x6x6xf32>) -> !dataflow.stream<1x6x6x3x{fmt}>
{conv}
    %y = dataflow.sink %conv0 {{name = "output0", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x6x6x4x{fmt}>) -> tensor<1x6x6x4xf32>
    func.return %y : tensor<1x6x6x4xf32>
  }}
}}
""")
    op = next(op for op in module.walk() if isinstance(op, ConvOp))
    assert pairs_products(op, op.folding()) is False
    asked = node_cost(op)
    op.attributes[INNER_PRODUCT_ATTR] = StringAttr("direct")
    assert node_cost(op) == asked
    assert pairs_products(op, {**op.folding(), "winograd": 1}) is False  # direct asks for no pairing at all
    op.attributes[INNER_PRODUCT_ATTR] = StringAttr("ffip")
    assert pairs_products(op, {**op.folding(), "winograd": 1}) is True  # the same conv direct: 4 filters of 9 products


def _chain_unchosen(bits: int = 16):
    """`_chain` with no inner product written: explore's to choose."""
    module = parse_module(_chain(bits, 0))
    for op in module.walk():
        op.attributes.pop(INNER_PRODUCT_ATTR, None)
    return module


def test_explore_weighs_both_inner_products_and_keeps_a_users():
    """Every fixed-point MAC node's points hold both inner products, FFIP only at the foldings whose products it
    pairs and where no point dominates it; a value the IR has is the only one its points take."""
    from dfcc.analyses.network import Network
    from dfcc.hardware.platforms import load_platform
    from dfcc.passes.explore import _node_spaces

    module = _chain_unchosen()
    ops = {op.node_name.data: op for op in module.walk() if isinstance(op, (ConvOp, LinearOp))}
    ops["conv0"].attributes[INNER_PRODUCT_ATTR] = StringAttr("ffip")
    ops["conv3"].attributes[INNER_PRODUCT_ATTR] = StringAttr("direct")
    network = Network.from_module(module)
    zcu102 = load_platform("zcu102")
    ffip_among = _node_spaces(network, zcu102, False, False, ffip=True)
    products = {model.name: {c[4] for c in space.choices} for model, space in zip(network.nodes, ffip_among)}
    assert products == {"input0": {None}, "output0": {None}, "conv0": {"ffip"}, "conv3": {"direct"},
                        "conv1": {"direct", "ffip"}, "conv2": {"direct", "ffip"}, "fc": {"direct", "ffip"}}
    # the first search's points (explore step 5): the IR's inner products, direct where it has none
    first = {model.name: {c[4] for c in space.choices} for model, space in zip(network.nodes,
                                                                               _node_spaces(network, zcu102, False, False))}
    assert first == {**products, "conv1": {"direct"}, "conv2": {"direct"}, "fc": {"direct"}}
    spaces = ffip_among
    for model, space in zip(network.nodes, spaces):
        for choice, usage in zip(space.choices, space.usage):
            if choice[4] == "ffip" and model.name != "conv0":
                assert pairs_products(model.op, dict(zip(model.factors, choice[0])), "ffip")
                d = model.cost(*choice[:4], "direct")
                # not dominated by the same point direct: cheaper in some resource (on DSPs: the DSPs)
                assert any(usage < [d.dsp, d.bram18, d.uram, d.lut, d.ff, d.offchip_bits])
                assert choice[2] != "dsp" or usage[0] < d.dsp


def test_explore_writes_its_inner_products_and_the_estimate_agrees():
    """apply_design writes each node's pick; the estimate of the written IR is explore's design, resource for
    resource; a node with nothing to choose (the source, the sink) gets no attribute."""
    from dfcc.analyses.network import RESOURCES, Network
    from dfcc.hardware.platforms import load_platform
    from dfcc.passes.explore import apply_design, explore_module

    module = _chain_unchosen()
    network, choices, totals = explore_module(module, load_platform("zcu102"), progress=False)
    apply_design(module, network, choices, totals, "zcu102")
    for model, choice in zip(network.nodes, choices):
        written = model.op.attributes.get(INNER_PRODUCT_ATTR)
        assert (written.data if written is not None else None) == choice[4]
    again = Network.from_module(module)
    assert again.ir_choices() == choices
    estimate = again.evaluate(again.ir_choices())
    assert estimate.ii == totals.ii
    assert all(estimate.resource(k) == totals.resource(k) for k in RESOURCES)
    assert [c.multipliers for c in estimate.costs] == [c.multipliers for c in totals.costs]


def test_sift_ranks_ffip_foldings_by_their_own_multipliers():
    """Conv.sift reads the multipliers each point is costed with (mac_multipliers). conv0 (3 -> 8, 3x3):
    (coarse_in 1, coarse_out 3, fine 2) takes 3 beats x 5 kernel steps x 3 filter steps = 45 steps a pixel.
    Direct, its 6 multipliers take more steps than (1, 2, 1, 3)'s 6 (36): no rung, sifted out. Paired, it has
    3 x 1 + 1 = 4 (hardware/ffip.py), and the foldings with no more are slower by more than a SIFT_RUNG-th
    ((1, 2, 1, 2): 2 x 1 + 1 = 3 at 60 steps): a rung, kept."""
    from dfcc.kinds.conv import WindowStream, mac_multipliers
    from dfcc.kinds.cost import describe

    module = _chain_unchosen()
    op = next(op for op in module.walk() if isinstance(op, ConvOp) and op.node_name.data == "conv0")
    model, ones = describe(op), frozenset({"pixels", "tile"})
    direct, paired = model.folding_options(ones, "direct"), model.folding_options(ones, "ffip")
    folding = (1, 3, 1, 2, 1, 1, 1)
    assert folding in paired and folding not in direct
    assert mac_multipliers(WindowStream(op), folding, True) == 4 and mac_multipliers(WindowStream(op), folding, False) == 6
    for product, options in (("direct", direct), ("ffip", paired)):
        for f in options:
            pairs = pairs_products(op, dict(zip(model.factors, f)), product)
            assert pairs is (product == "ffip" and f[-1] == 1)  # FFIP's options are those it pairs
            assert model.cost(f, product=product).multipliers == mac_multipliers(WindowStream(op), f, pairs)


def _explored(module, reserve: dict[str, float] | None):
    from dfcc.hardware.platforms import load_platform
    from dfcc.passes.explore import explore_module

    return explore_module(module, load_platform("zcu102"), progress=False, reserve=reserve)


def test_explore_takes_ffip_only_where_dsps_bind():
    """With DSPs to spare (the chain on a ZCU102) every node stays direct: FFIP's LUTs would be pure cost. With
    100 DSPs and 30,000 LUTs left (the rest reserved) DSPs bind the direct design (II 216, as with "direct"
    written on every node); the second search, FFIP among the points, pairs every node's products and is
    faster (II 180 on the same 100 DSPs, when written)."""
    from dfcc.analyses.network import RESOURCES
    from dfcc.hardware.platforms import load_platform

    _, choices, _ = _explored(_chain_unchosen(), None)
    assert [c[4] for c in choices if c[4]] == ["direct"] * 5
    zcu102 = load_platform("zcu102")
    reserve = {**dict.fromkeys(RESOURCES, 0.0), "dsp": 0.9 * zcu102.dsp - 100, "lut": 0.9 * zcu102.lut - 30_000}
    written = _chain_unchosen()
    for op in written.walk():
        if isinstance(op, (ConvOp, LinearOp)):
            op.attributes[INNER_PRODUCT_ATTR] = StringAttr("direct")
    _, _, direct = _explored(written, reserve)
    _, choices, paired = _explored(_chain_unchosen(), reserve)
    assert [c[4] for c in choices if c[4]] == ["ffip"] * 5
    assert paired.ii < direct.ii and paired.dsp <= 100
    # a search after the pass wrote its picks (Explore's FIFO rounds) weighs what the user wrote, read before the
    # first search (products_written: nothing), not the IR's "direct" now
    from dfcc.kinds.inner_product import products_written
    from dfcc.passes.explore import explore_module

    again = _chain_unchosen()
    users = products_written(again)
    assert set(users.values()) == {None} and len(users) == 5
    for op in users:
        op.attributes[INNER_PRODUCT_ATTR] = StringAttr("direct")
    _, choices, _ = explore_module(again, zcu102, progress=False, reserve=reserve, products=users)
    assert [c[4] for c in choices if c[4]] == ["ffip"] * 5
