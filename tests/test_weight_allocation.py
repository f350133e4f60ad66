"""passes/weight_allocation.py: each weighted node's tile and weight place at its compute folding for the least DRAM
traffic within the memory budget, checked against a brute force over every allocation, and explore's use of it."""

import itertools
import json

import numpy as np
import pytest

from dfcc.analyses.network import Network, budget
from dfcc.hardware.platforms import load_platform
from dfcc.passes.weight_allocation import allocate_weights, least_traffic_within, node_options, tile_variants
from tests.test_explore_offchip import _conv, _quantized

TWO_CONVS = """func.func @main(%a: tensor<1x16x8x8xf32>) -> tensor<1x8x8x32xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x16x8x8xf32>) -> !dataflow.stream<1x8x8x16xf32>
  %w1 = dataflow.weights {name = "w1", value = dense<0.25> : tensor<32x16x3x3xf32>} : tensor<32x16x3x3xf32>
  %c1 = dataflow.conv %s, %w1 {name = "c1", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x8x8x16xf32>, tensor<32x16x3x3xf32>) -> !dataflow.stream<1x8x8x32xf32>
  %w2 = dataflow.weights {name = "w2", value = dense<0.125> : tensor<32x32x1x1xf32>} : tensor<32x32x1x1xf32>
  %c2 = dataflow.conv %c1, %w2 {name = "c2", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x8x8x32xf32>, tensor<32x32x1x1xf32>) -> !dataflow.stream<1x8x8x32xf32>
  %t = dataflow.sink %c2 {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x8x8x32xf32>) -> tensor<1x8x8x32xf32>
  func.return %t : tensor<1x8x8x32xf32>
}"""


def _board(tmp_path, bram18: int, lut: int = 6000):
    path = tmp_path / "board.json"
    path.write_text(json.dumps({"name": "b", "part": "x", "dsp": 200, "bram18": bram18, "uram": 0, "lut": lut,
                                "ff": 100_000, "clock_mhz": 100, "bandwidth_gbps": 20}))
    return load_platform(str(path))


def _start(network: Network, folding_of):
    """Every node at its IR folding but the convs, at `folding_of(model)` with weights in DRAM at one pixel a tile."""
    choices = []
    for model in network.nodes:
        if model.has_weights:
            choices.append((folding_of(model), "off_chip", "dsp", 100, None, None))
        else:
            choices.append((model.ir_folding(), "bram", "dsp", 100, None, None))
    return choices


def _brute_force(network, choices, limits, platform, target):
    """The least traffic of every combination of the weighted nodes' options whose whole design fits `limits`."""
    weighted = [i for i, m in enumerate(network.nodes) if m.has_weights]
    options = []
    for i in weighted:  # a node's options no other beats in memory and traffic (no skip FIFO here: no other cost)
        picks, rows = node_options(network.nodes[i], choices[i], target, platform, {})
        options.append([c for c, r in zip(picks, rows)
                        if not any((o <= r).all() and (o < r).any() for o in rows)])
    best = None
    for combo in itertools.product(*options):
        design = list(choices)
        for i, c in zip(weighted, combo):
            design[i] = c
        totals = network.evaluate(design, fifo_limits=limits)
        if not totals.overshoot(limits) and (best is None or totals.offchip_bits < best):
            best = totals.offchip_bits
    return best


def _folding(model, **factors):
    values = dict(zip(model.factors, model.ir_folding()))
    values.update({k: v for k, v in factors.items() if k in values})
    return tuple(values.values())


@pytest.mark.parametrize("bram18, memory, tile", [
    (6, "off_chip", 1), (8, "bram", 1), (12, "off_chip", 16), (20, "bram", 16), (40, "bram", 1)])
def test_one_conv_gets_the_least_traffic_that_fits(tmp_path, bram18, memory, tile):
    """One conv (its 295 Kbit of weights too many for 3,500 LUTs as LUTRAM): the allocation is the brute force's
    best over its tiles and places, from streamed at one pixel a tile (6 BRAM18) through part on chip (8), the one
    tile of all 16 pixels (12), that tile with part on chip (20) to every weight on chip (40)."""
    network = Network.from_module(_quantized(_conv(64, 4)))
    platform = _board(tmp_path, bram18, lut=3500)
    limits = budget(platform, 0.9)
    choices = _start(network, lambda m: _folding(m, coarse_in=2, coarse_out=2, fine=3))
    totals = network.evaluate(choices)
    target = max(c.cycles for c in totals.costs) * 1.5
    best = _brute_force(network, choices, limits, platform, target)
    design, placed = allocate_weights(network, choices, totals, limits, platform, target)
    assert placed.offchip_bits == best
    assert not placed.overshoot(limits)
    assert placed == network.evaluate(design, max_bits_per_cycle=platform.bandwidth_bits_per_cycle, fifo_limits=limits)
    (conv,) = [i for i, m in enumerate(network.nodes) if m.has_weights]
    folding, placed_in, *_ = design[conv]
    assert folding[:5] + folding[6:] == choices[conv][0][:5] + choices[conv][0][6:]  # its compute folding kept
    assert (placed_in, folding[5]) == (memory, tile)


def test_two_convs_match_the_brute_force_and_the_target(tmp_path):
    """Two convs sharing 8 BRAM18: the hull greedy and its exact moves reach the brute force's least traffic; a
    target below some tiles' cycles keeps them out."""
    network = Network.from_module(_quantized(TWO_CONVS))
    platform = _board(tmp_path, 8)
    limits = budget(platform, 0.9)
    choices = _start(network, lambda m: _folding(m, coarse_in=4, coarse_out=2, fine=3))
    totals = network.evaluate(choices)
    slowest = max(c.cycles for c in totals.costs)
    for target in (slowest * 2, slowest):
        best = _brute_force(network, choices, limits, platform, target)
        design, placed = allocate_weights(network, choices, totals, limits, platform, target)
        assert placed.offchip_bits == best
        assert best < totals.offchip_bits
        assert max(c.cycles for m, c in zip(network.nodes, placed.costs) if m.has_weights) <= target


def test_nodes_outside_the_set_stay_and_tiles_are_buildable(tmp_path):
    network = Network.from_module(_quantized(TWO_CONVS))
    platform = _board(tmp_path, 8)
    choices = _start(network, lambda m: _folding(m, coarse_in=4, coarse_out=2, fine=3))
    totals = network.evaluate(choices)
    first, second = [i for i, m in enumerate(network.nodes) if m.has_weights]
    design, _ = allocate_weights(network, choices, totals, budget(platform, 0.9), platform, float("inf"),
                                 frozenset({second}))
    assert design[first] == choices[first]
    model = network.nodes[second]
    variants = tile_variants(model, choices[second][0], {})
    assert len(variants) > 1 and all(model.buildable(v) for v in variants)
    assert design[second][0] in variants


def test_one_item_frees_memory_for_another_that_saves_more():
    """Two items (tile-major chains, passes/tile_order.py `order_chains`), each as it is (no memory added) or at one
    other option: A frees 5 BRAM18 for 50 bits more traffic (100 -> 150), B takes 5 for 400 less (500 -> 100). With
    no room, each alone stays (A's option adds traffic, B's memory); together they take both: 250 bits, not 600."""
    a = np.array([(0.0, 0.0, 100.0), (-5.0, 0.0, 150.0)])
    b = np.array([(0.0, 0.0, 500.0), (5.0, 0.0, 100.0)])
    scale = np.array([1 / 100, 1 / 1000])
    assert least_traffic_within([a, b], np.array([0.0, 0.0]), scale) == [1, 1]
    assert least_traffic_within([b], np.array([0.0, 0.0]), scale) == [0]
    assert least_traffic_within([a, b], np.array([-5.0, 0.0]), scale) == [1, 0]
