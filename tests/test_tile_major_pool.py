"""DenseNet's pools writing tile-major streams (the stem's 3x3 max pool, the transitions' 2x2 sum pools): the pool's
pixel-major beats reordered a tile at a time (pool.h tile_major_out). The verifier's rule, the cost and the schedule by
hand, and C simulation bit-exact against the CPU reference."""

import numpy as np
import pytest

from dfcc.analyses.network import Network
from dfcc.analyses.simulation import simulate
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.kinds import PoolOp
from dfcc.kinds.cost import describe, node_cost
from dfcc.passes.quantize import Quantize
from tests.csim_check import csim_equals_reference
from tests.test_tile_major import _lit, quantized_sized

MAX_3X3 = 'kind = "max", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, pad = array<i64: 1, 1, 1, 1>'
SUM_2X2 = 'kind = "sum", kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, pad = array<i64: 0, 0, 0, 0>'


def _pooled(window: str = MAX_3X3, tile: int = 4, coarse: int = 2, order: str = "tile {tile} block 4", size: int = 12,
            channels: int = 8) -> str:
    """A `channels`-channel `size` x `size` input pooled to half its size (`window`, `coarse` lanes) into a stream in
    `order` (tile-major by default: tile `tile` block 4), which `head` (1x1 to 6 filters, 3 a step, `tile`, its lanes
    in the block) reads."""
    c, h, ho = channels, size, size // 2
    w = np.random.default_rng(4).integers(-6, 7, size=(6, c, 1, 1)) / 8.0
    out = f"!dataflow.stream<1x{ho}x{ho}x{c}xf32, {order.format(tile=tile)}>"
    block = int(order.format(tile=tile).split("block ")[1]) if "block" in order else 4
    point = ('kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, '
             'pad = array<i64: 0, 0, 0, 0>')
    return f"""builtin.module attributes {{dataflow.platform = "zcu102"}} {{
  func.func @main(%a: tensor<1x{c}x{h}x{h}xf32>) -> tensor<1x6x{ho}x{ho}xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x{c}x{h}x{h}xf32>) -> !dataflow.stream<1x{h}x{h}x{c}xf32>
    %p = dataflow.pool %s {{name = "pool", {window}, dilation = array<i64: 1, 1>, coarse = {coarse} : i64}} : (!dataflow.stream<1x{h}x{h}x{c}xf32>) -> {out}
    %w = dataflow.weights {{name = "w", value = dense<{_lit(w)}> : tensor<6x{c}x1x1xf32>}} : tensor<6x{c}x1x1xf32>
    %y = dataflow.conv %p, %w {{name = "head", {point}, coarse_in = {block} : i64, coarse_out = 3 : i64, tile = {tile} : i64}} : ({out}, tensor<6x{c}x1x1xf32>) -> !dataflow.stream<1x{ho}x{ho}x6xf32>
    %t = dataflow.sink %y {{name = "out", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x{ho}x{ho}x6xf32>) -> tensor<1x6x{ho}x{ho}xf32>
    func.return %t : tensor<1x6x{ho}x{ho}xf32>
  }}
}}
"""


def _pool(module) -> PoolOp:
    return next(op for op in module.walk() if isinstance(op, PoolOp))


def test_pool_writes_a_tile_major_stream():
    pool = _pool(parse_module(_pooled()))
    assert pool.output.type.order == (4, 4) and pool.order_problem() is None


@pytest.mark.parametrize("coarse", [8, 3], ids=["two-blocks-a-beat", "lanes-not-dividing"])
def test_pool_lanes_must_divide_the_block(coarse):
    """8 lanes a beat would hold two blocks; 3 lanes straddle them."""
    text = _pooled(order="tile 4 block 4", channels=24) if coarse == 3 else _pooled()
    with pytest.raises(DfccError, match=f"pool 'pool' writes a tile-major stream \\(tile 4 block 4\\), which a pool "
                                        f"writes at coarse dividing the block, one pixel a beat, got coarse={coarse}"):
        parse_module(text.replace("coarse = 2 : i64", f"coarse = {coarse} : i64"))


def test_ordered_pool_foldings_divide_the_block():
    """Ordered, its cost model offers 1, 2 and 4 lanes (dividing the block of 4), one pixel a beat; pixel-major also
    8 lanes and whole pixels a beat."""
    ordered = describe(_pool(parse_module(_pooled())))
    assert sorted(ordered.folding_options(frozenset())) == [(1, 1), (2, 1), (4, 1)]
    plain = describe(_pool(parse_module(_pooled(order="depth 2").replace("tile = 4 : i64", "tile = 1 : i64"))))
    assert (8, 2) in plain.folding_options(frozenset())


def _costs(**fields):
    """The pool's cost at 16 bits, ordered and pixel-major."""
    costs = []
    for order in ("tile {tile} block " + str(fields.pop("block", 4)), "depth 2"):
        text = _pooled(order=order, **fields)
        if order == "depth 2":
            text = text.replace(f"tile = {fields.get('tile', 4)} : i64", "tile = 1 : i64")
        module = parse_module(text)
        Quantize(weight_bits=16, act_bits=16).apply(make_context(), module)
        costs.append(node_cost(_pool(module)))
    return costs


def test_tile_major_pool_cost_by_hand():
    """The 2x2 sum pool at 2 lanes: the pool's 12 x 12 x 8 / 2 = 576 cycles (fpgaConvNet), the reorder's (9 tiles + 1)
    x 4 pixels x 4 beats = 160 beside them, so 576; its first beat a tile (16 beats) later, 4 / 36 of the output
    more absorbed first; two tiles of 16 beats of 2 x 16 bits, each under a BRAM's worth (LUTRAM)."""
    ordered, plain = _costs(window=SUM_2X2)
    assert plain.cycles == ordered.cycles == 576
    assert ordered.depth - plain.depth == 16
    assert ordered.fill - plain.fill == pytest.approx(4 / 36)
    assert ordered.bram18 == plain.bram18 and ordered.lut > plain.lut


def test_tile_major_pool_bram_by_hand():
    """Tiles of 49 of the 64 pixels, 64 channels in 16 lanes of 16 bits: a tile is 196 beats of 256 bits, 8 BRAM18
    (36 x 512) a half of the ping-pong buffer, 16 in all; cycles: the pool's 16 x 16 x 64 / 16 = 1,024 against the
    reorder's (2 tiles + 1) x 196 = 588."""
    ordered, plain = _costs(window=SUM_2X2, tile=49, coarse=16, block=16, size=16, channels=64)
    assert ordered.bram18 - plain.bram18 == 16
    assert ordered.cycles == plain.cycles == 1024


def test_reorder_cycles_bound_the_pool():
    """The 3x3 max pool at stride 2 with padding 1 on 12x12 at 4 lanes walks 14 x 14 x 2 = 392 padded beats; tiles
    of 36 pixels (the whole image) take (1 + 1) x 36 x 2 = 144 beside them; with 1 lane 1,568 and 576."""
    assert [c.cycles for c in _costs(tile=36, coarse=4)] == [392, 392]
    assert [c.cycles for c in _costs(tile=36, coarse=1)] == [1568, 1568]


@pytest.mark.parametrize("window, tile", [(MAX_3X3, 4), (SUM_2X2, 5)], ids=["max-tile-4", "sum-last-tile-partial"])
def test_simulation_agrees_with_the_estimate(window, tile):
    """The reorder's schedule (analyses/schedules.py: a tile's beats read, the previous tile's written) simulates the
    II and the latency the estimate gives, within 5%."""
    module = quantized_sized(_pooled(window, tile))
    network = Network.from_module(module)
    estimate = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    simulated = simulate(module)
    assert not simulated.deadlock and abs(simulated.ii - estimate.ii) <= 0.05 * estimate.ii


@pytest.mark.parametrize("window, tile, coarse", [(MAX_3X3, 4, 2), (MAX_3X3, 5, 4), (SUM_2X2, 6, 1), (SUM_2X2, 5, 2)],
                         ids=["max-tile-4", "max-last-tile-partial", "sum-tile-6", "sum-last-tile-partial"])
def test_tile_major_pool_csim_bit_exact(window, tile, coarse):
    """The pool's pixel-major beats reordered (tiles of 4 or 6: 9 or 6 of them; of 5: 8, the last one a pixel), read
    by conv_point_tm_in: C simulation equals the CPU reference."""
    from dfcc.backends.hls.emit import emit_design

    module = quantized_sized(_pooled(window, tile, coarse))
    top = emit_design(module).files["top.cpp"]
    assert f"dfcc::tile_major_out<36, 8, {tile}, 4, {coarse}, " in top
    x = np.random.default_rng(12).standard_normal((1, 8, 12, 12)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], False)).max() > 0


def test_dense_layer_on_a_tile_major_chain_csim_bit_exact():
    """lit_tests/hls/dense_tile_major.mlir's dense layer (the stem's max pool writing the chain, a batch norm, a 1x1 and
    a 3x3 conv, the concat, the 1x1 head reading it), quantized: C simulation equals the CPU reference."""
    from pathlib import Path

    text = (Path(__file__).parent.parent / "lit_tests" / "hls" / "dense_tile_major.mlir").read_text()
    module = quantized_sized(text)
    x = np.random.default_rng(14).standard_normal((1, 2, 8, 8)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], False)).max() > 0
