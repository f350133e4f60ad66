"""DenseNet's nodes between its convs on tile-major streams: a map with per-channel parameters (the batch norms before
each conv) and a channel concat. The verifier's rules, the chain a map joins (passes/tile_order.py), the foldings
their cost models offer, and C simulation bit-exact against the CPU reference."""

import numpy as np
import pytest

from dfcc.errors import DfccError
from dfcc.frontends.mlir import parse_module
from dfcc.kinds import ConcatOp, MapOp
from dfcc.kinds.cost import describe
from dfcc.passes.tile_order import chains
from tests.csim_check import csim_equals_reference
from tests.test_tile_major import _block, _lit, quantized_sized


def _normed(tile: int = 4, coarse: int = 2, param_shape: str = "8") -> str:
    """`_block` with a batch norm `bn` (x * scale + shift, per channel, `coarse` lanes) on `reduce`'s tile-major
    output before the add + ReLU; `param_shape` the shape of its two parameters."""
    rng = np.random.default_rng(5)
    size = int(np.prod([int(d) for d in param_shape.split("x")]))
    scale, shift = (rng.integers(-8, 9, size=size).reshape([int(d) for d in param_shape.split("x")]) / 4.0
                    for _ in range(2))
    tm = f"!dataflow.stream<1x6x6x8xf32, tile {tile} block 4>"
    bn = f"""    %sc = dataflow.weights {{name = "scale", value = dense<{_lit(scale)}> : tensor<{param_shape}xf32>}} : tensor<{param_shape}xf32>
    %sh = dataflow.weights {{name = "shift", value = dense<{_lit(shift)}> : tensor<{param_shape}xf32>}} : tensor<{param_shape}xf32>
    %n = dataflow.map %r params(%sc, %sh : tensor<{param_shape}xf32>, tensor<{param_shape}xf32>) {{name = "bn", coarse = {coarse} : i64}} : {tm} -> {tm} {{
    ^bb0(%x: f32, %g: f32, %o: f32):
      %m = arith.mulf %x, %g : f32
      %y = arith.addf %m, %o : f32
      dataflow.yield %y : f32
    }}
"""
    text = _block(tile)
    anchor = '    %j = dataflow.map %r, %f1 {name = "add"}'
    assert anchor in text
    return text.replace(anchor, bn + '    %j = dataflow.map %n, %f1 {name = "add"}')


def _map(module, name: str) -> MapOp:
    return next(op for op in module.walk() if isinstance(op, MapOp) and op.node_name.data == name)


def test_per_channel_map_takes_a_tile_major_stream():
    module = parse_module(_normed())
    bn = _map(module, "bn")
    assert bn.per_channel() and not bn.order_free()
    assert bn.output.type.order == (4, 4) and bn.order_problem() is None


def test_per_channel_map_lanes_must_divide_the_block():
    """8 lanes a beat would hold two blocks (two pixels' channels)."""
    with pytest.raises(DfccError, match="map 'bn' writes a tile-major stream \\(tile 4 block 4\\), which a map with "
                                        "per-channel parameters takes at coarse dividing the block, one pixel a beat, "
                                        "got coarse=8, pixels=1"):
        parse_module(_normed(coarse=8))


def test_parameter_along_the_width_stays_pixel_major():
    """A parameter indexed by the column (1 x 6 x 1) needs the pixel's position: pixel-major only."""
    with pytest.raises(DfccError, match="map 'bn' reads a tile-major stream"):
        parse_module(_normed(param_shape="6x1"))


def test_per_channel_map_joins_the_chain():
    """bn passes the order like the add: `expand`'s output, the fork's two, `reduce`'s, bn's and the add's are one
    chain, written by expand and reduce and read by reduce and head."""
    module = parse_module(_normed())
    (values, writers, readers), = [c for c in chains(module) if len(c[0]) > 1]
    names = {v.owner.node_name.data for v in values}
    assert names == {"expand", "fork", "reduce", "bn", "add"}
    assert sorted(op.node_name.data for op in writers) == ["expand", "reduce"]
    assert [op.node_name.data for op in readers] == ["reduce", "head"]


def test_ordered_map_foldings_divide_the_block():
    """Its cost model offers the lanes dividing the block of 4 (1, 2, 4), not 8, at one pixel a beat; pixel-major
    every divisor of the 8 channels; the cycles are the beats either way: 6 x 6 x 8 / lanes."""
    ordered = describe(_map(parse_module(_normed()), "bn"))
    lanes = sorted({f[0] for f in ordered.folding_options(frozenset())})
    assert lanes == [1, 2, 4]
    for folding in ordered.folding_options(frozenset()):
        assert ordered.cost(folding).cycles == 6 * 6 * 8 // folding[0]
    plain = describe(_map(parse_module(_normed().replace(", tile 4 block 4>", ">")), "bn"))
    assert sorted({f[0] for f in plain.folding_options(frozenset())}) == [1, 2, 4, 8]


@pytest.mark.parametrize("tile, coarse", [(4, 2), (5, 1), (5, 4)],
                         ids=["tiles-dividing", "last-tile-partial", "lanes-a-block"])
def test_per_channel_map_tile_major_csim_bit_exact(tile, coarse):
    """The map's stage walks the tile-major beats (tiles of 4 pixels: 9; of 5: 8, the last one a pixel) with each
    lane's channel from its block and beat: C simulation equals the CPU reference."""
    from dfcc.backends.hls.emit import emit_design

    module = quantized_sized(_normed(tile, coarse))
    top = emit_design(module).files["top.cpp"]
    stage = top[top.index("static void stage_bn("):]
    stage = stage[:stage.index("\n}\n")]
    assert "int t = 0, j = 0, b = 0, q = 0;" in stage and f"b * 4 + q * {coarse} + p" in stage
    x = np.random.default_rng(11).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], False)).max() > 0


def _dense(tile: int = 4, coarse: int = 4, side: int = 1) -> str:
    """`_block` with DenseNet's join: `expand`'s output (8 channels) forked to `reduce` and to a concat of `reduce`'s
    output and itself (16 channels, `coarse` lanes, `side`), which `head` (1x1, 16 -> 6, 4 lanes in) reads, all
    tile-major."""
    text = _block(tile)
    start, end = text.index('    %j = dataflow.map'), text.index("    %w2 = ")
    tm16 = f"!dataflow.stream<1x6x6x16xf32, tile {tile} block 4>"
    tm8 = f"!dataflow.stream<1x6x6x8xf32, tile {tile} block 4>"
    concat = (f'    %j = dataflow.concat %r, %f1 {{name = "cat", axis = 3 : i64, coarse = {coarse} : i64, side = {side} : i64}}'
              f" : ({tm8}, {tm8}) -> {tm16}\n")
    rng = np.random.default_rng(3)
    w2 = rng.integers(-6, 7, size=(6, 16, 1, 1)) / 8.0
    text = text[:start] + concat + text[end:]
    text = text.replace(text[text.index("    %w2 = "):text.index("    %h = ")],
                        f'    %w2 = dataflow.weights {{name = "w2", value = dense<{_lit(w2)}> : tensor<6x16x1x1xf32>}}'
                        f" : tensor<6x16x1x1xf32>\n")
    assert f"({tm8}, tensor<6x8x1x1xf32>)" in text
    return text.replace(f"({tm8}, tensor<6x8x1x1xf32>)", f"({tm16}, tensor<6x16x1x1xf32>)")


def test_concat_takes_whole_tiles_in_turn():
    module = parse_module(_dense())
    cat = next(op for op in module.walk() if isinstance(op, ConcatOp))
    assert cat.output.type.order == (4, 4) and cat.order_problem() is None
    with pytest.raises(DfccError, match="concat 'cat' writes a tile-major stream \\(tile 4 block 4\\), which a concat "
                                        "takes over the channels, its inputs in turn \\(side=1, pixels=1\\), the tile "
                                        "dividing the 36 pixels"):
        parse_module(_dense(side=2, coarse=8))
    with pytest.raises(DfccError, match="concat 'cat' writes a tile-major stream \\(tile 5 block 4\\)"):
        parse_module(_dense(tile=5))


def test_ordered_concat_foldings_take_inputs_in_turn():
    """Ordered, its cost model offers the inputs in turn only (side 1, one pixel a beat), each at the 6 x 6 x 16 /
    lanes cycles of fpgaConvNet's concat; pixel-major also side by side."""
    cat = describe(next(op for op in parse_module(_dense()).walk() if isinstance(op, ConcatOp)))
    options = cat.folding_options(frozenset())
    assert {(f[1], f[2]) for f in options} == {(1, 1)} and sorted(f[0] for f in options) == [1, 2, 4, 8]
    assert [cat.cost(f).cycles for f in sorted(options)] == [576, 288, 144, 72]
    plain = describe(next(op for op in parse_module(_dense().replace(", tile 4 block 4>", ">")).walk()
                          if isinstance(op, ConcatOp)))
    assert (8, 2, 1) in plain.folding_options(frozenset())


@pytest.mark.parametrize("tile, coarse", [(4, 4), (6, 2), (12, 8)], ids=["tile-4", "tile-6", "tile-12"])
def test_tile_major_concat_csim_bit_exact(tile, coarse):
    """A tile of each input in turn (concat_blocks over the 36 / tile tiles): C simulation equals the CPU reference."""
    from dfcc.backends.hls.emit import emit_design

    module = quantized_sized(_dense(tile, coarse))
    top = emit_design(module).files["top.cpp"]
    assert f"dfcc::concat_blocks<{36 // tile}, {tile * 8 // coarse}, {tile * 8 // coarse}, {coarse}," in top
    x = np.random.default_rng(13).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], False)).max() > 0


def _pixel_major(text: str, tile: int = 4) -> str:
    return text.replace(f", tile {tile} block 4>", ">")


def test_chain_passes_the_concat():
    """DenseNet's join pixel-major: `expand`'s output, the fork's two, `reduce`'s and the concat's are one chain, which
    passes_order joins through the concat (channel concat); written by expand and reduce, read by reduce and head."""
    module = parse_module(_pixel_major(_dense()))
    (values, writers, readers), = [c for c in chains(module) if len(c[0]) > 1]
    assert {v.owner.node_name.data for v in values} == {"expand", "fork", "reduce", "cat"}
    assert sorted(op.node_name.data for op in writers) == ["expand", "reduce"]
    assert [op.node_name.data for op in readers] == ["reduce", "head"]


def test_options_through_a_concat_take_tiles_dividing_its_pixels():
    """The convs in tiles of 5, which do not divide the concat's 36 pixels: the chain's options are tiles dividing them
    (every tile whole, ConcatOp's rule; the tiles explore's search offers a conv), 2 to 36, in the writers' block of
    4 (dividing the 8 and 16 channels), the concat's inputs in turn."""
    from dfcc.passes.tile_order import _options, passes_order

    module = parse_module(_pixel_major(_dense(tile=4).replace("tile = 4 : i64", "tile = 5 : i64")))
    (values, writers, readers), = [c for c in chains(module) if len(c[0]) > 1]
    passing = list(dict.fromkeys(v.owner for v in values if passes_order(v.owner)))
    options = list(_options(values, writers, readers, passing))
    assert [order for order, _ in options] == [(t, 4) for t in (2, 3, 4, 6, 9, 12, 18, 36)]
    cat = next(op for op in passing if isinstance(op, ConcatOp))
    assert all(f[cat] == {"coarse": 4, "side": 1, "pixels": 1} for _, f in options)


def test_reader_filter_step_rounds_up_to_a_divisor_of_its_filters():
    """`head` (16 -> 6) at 16 lanes in, 1 filter a step (16 lanes) reads the chain in blocks of 4: 16 / 4 = 4 filters
    a step would not divide its 6 filters, so it takes 6 (24 lanes); the chain then orders and verifies."""
    from dfcc.passes.tile_order import _options, order_chain, passes_order

    text = _pixel_major(_dense()).replace('coarse_in = 4 : i64, coarse_out = 3 : i64, tile = 4 : i64} : '
                                          '(!dataflow.stream<1x6x6x16xf32>',
                                          'coarse_in = 16 : i64, coarse_out = 1 : i64, tile = 4 : i64} : '
                                          '(!dataflow.stream<1x6x6x16xf32>')
    module = parse_module(text)
    (values, writers, readers), = [c for c in chains(module) if len(c[0]) > 1]
    head = next(op for op in readers if op.node_name.data == "head")
    passing = list(dict.fromkeys(v.owner for v in values if passes_order(v.owner)))
    assert all(f[head]["coarse_in"] == 4 and f[head]["coarse_out"] == 6
               for _, f in _options(values, writers, readers, passing))
    assert order_chain(values, writers, readers, 10**9)[0] < 0  # the BRAM18 it frees
    module.verify()
    cat = next(op for op in module.walk() if isinstance(op, ConcatOp))
    assert cat.output.type.order is not None and cat.int_prop("side") == 1


def test_chain_spends_spare_luts_on_fewer_sweeps():
    """DenseNet's join pixel-major, its weights in DRAM, `expand` at 1 x 2 lanes (fine 1) in tiles of 9: 7 BRAM18,
    41,472 bits of weight traffic, 3,564 LUTs. Ordered (block 4: expand at 1 x 4 lanes), tiles of 6 hold 4 BRAM18 and
    3,554 LUTs but sweep the weights 6 times (43,008 bits), tiles of 9 and 12 sweep them 4 and 3 times (28,672 and
    21,504 bits) in 3 BRAM18 for 14 and 32 LUTs more: with no LUTs to spare the chain stays pixel-major (no order
    within its LUTs moves less traffic); with 14 (what the design leaves of explore's LUT budget, order_streams) it
    takes tiles of 9, with 32 tiles of 12, freeing 4 BRAM18 for the LUTs it spends."""
    from dfcc.kinds.cost import node_cost
    from dfcc.passes.tile_order import order_chain

    text = _pixel_major(_dense()).replace(
        "coarse_in = 2 : i64, coarse_out = 4 : i64, fine = 3 : i64, tile = 4 : i64",
        "coarse_in = 1 : i64, coarse_out = 2 : i64, fine = 1 : i64, tile = 9 : i64")
    for name in ("expand", "reduce", "head"):
        text = text.replace(f'{{name = "{name}"', f'{{dataflow.weights_memory = "off_chip", name = "{name}"')
    for lut_spare, taken, order, sweeps in ((0, None, None, 4), (13, None, None, 4), (14, (-4, 14), (9, 4), 4),
                                            (32, (-4, 32), (12, 4), 3)):
        module = parse_module(text)
        (values, writers, readers), = [c for c in chains(module) if len(c[0]) > 1]
        assert order_chain(values, writers, readers, 10**9, lut_spare=lut_spare) == taken
        module.verify()
        cat = next(op for op in module.walk() if isinstance(op, ConcatOp))
        expand = next(op for op in writers if op.node_name.data == "expand")
        assert cat.output.type.order == order and node_cost(expand).weight_sweeps == sweeps  # 36 pixels a frame


def test_chains_ordered_together_spend_the_spare_luts_alike():
    """`order_chains` (the chains' orders chosen together, a knapsack) on the graph of
    test_chain_spends_spare_luts_on_fewer_sweeps, its one chain: with no LUTs to spare it stays pixel-major, with 14
    it takes tiles of 9, with 32 tiles of 12, as `order_chain` does alone."""
    from dfcc.kinds.cost import node_cost
    from dfcc.passes.tile_order import order_chains

    text = _pixel_major(_dense()).replace(
        "coarse_in = 2 : i64, coarse_out = 4 : i64, fine = 3 : i64, tile = 4 : i64",
        "coarse_in = 1 : i64, coarse_out = 2 : i64, fine = 1 : i64, tile = 9 : i64")
    for name in ("expand", "reduce", "head"):
        text = text.replace(f'{{name = "{name}"', f'{{dataflow.weights_memory = "off_chip", name = "{name}"')
    limits = {"bram18": 100, "lut": 10_000}
    for lut_spare, order, sweeps in ((0, None, 4), (14, (9, 4), 4), (32, (12, 4), 3)):
        module = parse_module(text)
        assert order_chains(module, 10**9, 0, lut_spare, limits) == (order is not None)
        module.verify()
        cat = next(op for op in module.walk() if isinstance(op, ConcatOp))
        expand = next(op for op in module.walk() if getattr(op, "node_name", None) and op.node_name.data == "expand")
        assert cat.output.type.order == order and node_cost(expand).weight_sweeps == sweeps


def test_chain_options_of_one_order_are_that_order_of_all():
    """chain_options with `only` (order_chains recosting a picked chain) costs that (R, B) alone: the same cost and
    factors as among all the options, none for an order not among them."""
    from dfcc.passes.tile_order import chain_options

    module = parse_module(_pixel_major(_dense()))
    (values, writers, readers), = [c for c in chains(module) if len(c[0]) > 1]
    written, options = chain_options(values, writers, readers, 10**9, True)
    assert len(options) > 1
    for option in options:
        assert chain_options(values, writers, readers, 10**9, True, only=option[1]) == (written, [option])
    assert chain_options(values, writers, readers, 10**9, True, only=(5, 4)) == (written, [])


def test_chain_options_from_costs_found_before_equal_fresh(monkeypatch):
    """chain_options given the nodes' costs an earlier call found (passes/tile_order.py `Costs`: the explore pass's FIFO
    rounds share them) gives the options it gives fresh, on a clone of the module too, costing no node again."""
    from dfcc.passes import tile_order

    module = parse_module(_pixel_major(_dense()))
    costs = {}
    first = tile_order.chain_options(*_chain(module), 10**9, True, costs=costs)
    assert first[1] and costs
    fresh = tile_order.chain_options(*_chain(module), 10**9, True)
    assert [o[:2] for o in first[1]] == [o[:2] for o in fresh[1]] and first[0] == fresh[0]
    monkeypatch.setattr(tile_order, "node_cost", lambda op: pytest.fail("costed again"))
    again = tile_order.chain_options(*_chain(module.clone()), 10**9, True, costs=costs)
    assert [o[:2] for o in again[1]] == [o[:2] for o in first[1]] and again[0] == first[0]


def _chain(module):
    (chain,) = [c for c in chains(module) if len(c[0]) > 1]
    return chain
