"""What a node costs at a given folding: the `NodeCost` record, the `NodeModel` the explorer
searches, and the helpers every kind's `cost` facet builds them with.

Everything is built from `dfcc.hardware` formulas; a kind's `cost(op)` (in its module) reads the
node's geometry and number formats from the IR and decides which formula applies. `describe(op)`
turns a node into a `NodeModel` once: its folding factors and extents (the op's
`folding_extents()`), its MACs, and a pure function from a folding (a tuple of factors, in
`factors` order) to a `NodeCost`. The DSE calls `NodeModel.cost(folding)` many times; results are
cached on the `NodeModel`, shared by the models of one module's nodes of equal `cost_key` (`describe`), no global
cache.

Number formats: a `!dataflow.fixed` stream or weights `format` / `acc_format` gives its width;
anything else (f32 before quantization) is costed at the defaults below.
"""

from __future__ import annotations

import io
import math
import operator
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from xdsl.dialects.builtin import ArrayAttr, IntegerType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.printer import Printer

from dfcc.dialects.dataflow import (
    TILE_LUTRAM_ATTR, WEIGHT_MEMORIES, WEIGHTS_MEMORY_ATTR, WEIGHTS_ON_CHIP_ATTR, FixedType, NodeOp, StreamType,
)
from dfcc.hardware.dsp import dsp_lanes, split_dsp
from dfcc.hardware.cycles import PIPELINED_LOOP_LATENCY, sliding_window_fill, sliding_window_px_fill, stage_cycles
from dfcc.hardware.logic import Logic, stage_logic
from dfcc.hardware.offchip import WEIGHT_FIFO_DEPTH, split_depth, streamed_weight_bits, weight_reader_adapters
from dfcc.hardware.memory import (
    bram18, lane_banks, line_buffer, lutram_fifo_luts, lutram_luts, uram, uram_rom, window_buffer,
)
from dfcc.kinds.registry import kind_of
from dfcc.kinds.sparse_weights import SparseWeightsOp
from dfcc.kinds.weights import WeightsOp

# Number formats of unquantized (float) values: 16-bit data and weights, 32-bit accumulators.
DEFAULT_DATA_BITS = 16
DEFAULT_WEIGHT_BITS = 16
DEFAULT_ACC_BITS = 32
STAGE_PIPELINE_CYCLES = PIPELINED_LOOP_LATENCY
# dfcc estimate: LUTs per bit per lane of a scalar op in a map body (adder, comparator or mux);
# transcendental functions (exp, tanh, ...) as a lookup table plus interpolation, 16 LUT per bit.
LUT_PER_SCALAR_OP_BIT = 1
LUT_PER_TRANSCENDENTAL_BIT = 16


@dataclass(frozen=True, slots=True)
class NodeCost:
    """Cost of one node at one folding, per inference.

    `cycles` is the stage latency (the pipeline's II is the largest); `depth` the cycles from its
    first input to its first output (summed along the longest path for the batch latency); `fill`
    the fraction of its input tensor it absorbs before its first output (sizes skip FIFOs, rate
    independent); `lag` the cycles it works on its last beat read before writing the result (a conv's
    MACs of one window beat), after its fill and after its last input, `first_lag` after its fill where that is
    less (0: `lag`; a tiled conv writing tile-major writes each filter step's beats as the step ends, so its first
    after one step, its last a whole tile's MACs after its last input); `drain` the cycles from its first
    output to its last when its input keeps up (0: one output beat a cycle); `preload` the part of
    its depth spent reading its other operands, which starts at their first beat rather than its
    first operand's (a matmul buffering its right operand); `input_fills` the fraction of each input
    absorbed before its first output when they differ (a matmul loads its right operand's first block
    before it reads a left row), else empty (`fill` for every input); `pixel_work` the cycles from the first beat
    of the input pixel completing its first window to its first output (a conv's MACs of one pixel; 0:
    `lag` after the window's last beat), and `pixel_fill` the share (0..1) of the other input pixels that
    come before that one; `burst` the cycles over which it writes one output pixel's beats (a conv:
    within its last window beat's MACs; 0: unknown, or as they come in for a stage without fill, which
    passes beats on); `lead` the cycles from the start of the first inference (every stage starts at once) before
    which it writes no output whenever its input comes (a conv walking its top padding first); `out_burst` the output
    beats it writes back to back, one a cycle, then pauses (a tiled conv's store of a tile; 0: at its pace); `tail` the
    cycles it works after its last input beat without reading (a padded conv's windows over its bottom padding), which
    its input FIFO must cover where its producer has less slack. `weight_*` is the weight memory alone, in each place
    it could live.
    """

    cycles: int
    depth: int
    fill: float
    dsp: int
    bram18: int
    uram: int
    lut: int
    ff: int
    out_lanes: int = 1
    weight_width: int = 0
    weight_depth: int = 0
    weight_bits: int = 0  # bits of one weight (its memory's words are weight_width / weight_bits weights)
    word_stream: bool = False  # its MAC takes its words as a stream too (hls_offchip.py): in URAM a packed ROM of them
    mult_lut: int = 0  # LUTs its multipliers take when built from fabric instead of DSPs
    multipliers: int = 0  # its parallel multipliers (MAC lanes) a split may share between DSPs and fabric
    weight_sweeps: float = 0  # times per inference the stage reads its whole weight memory (a lookup: a fraction)
    offchip_bits: int = 0  # bits per inference moved to or from DRAM
    lag: int = 0
    first_lag: int = 0
    drain: int = 0
    preload: int = 0
    input_fills: tuple[float, ...] = ()  # per input (operand order) when they differ: the `fill` of each
    pixel_work: int = 0
    pixel_fill: float = 0.0
    burst: int = 0
    lead: int = 0
    out_burst: int = 0
    tail: int = 0

    def with_mult(self, impl: Mult) -> NodeCost:
        """This cost with the multipliers on DSPs (as costed), in LUTs (`lut`: no DSP left), or split: an
        int, the percent of its `multipliers` (its first lanes) kept on DSPs, the others in LUTs."""
        if impl == "dsp" or self.mult_lut == 0:
            return self
        dsp, fabric_lut = self.mult_change(impl)
        return _replace(self, dsp=dsp, lut=self.lut + fabric_lut)

    def mult_change(self, impl: Mult) -> tuple[int, int]:
        """(DSPs, LUTs added) of this cost with its multipliers as `with_mult` says (`impl` not "dsp")."""
        if impl == "lut":
            # every DSP of a stage is a multiplier: fabric multipliers free them all
            return 0, self.mult_lut
        if isinstance(impl, int) and 0 < impl < 100 and self.multipliers:
            kept = dsp_lanes(self.multipliers, impl)
            return split_dsp(self.dsp, self.multipliers, kept), self.mult_lut * (self.multipliers - kept) // self.multipliers
        raise ValueError(f"unknown multiplier implementation '{impl}'")

    def with_memory(self, memory: str, on_chip: int = 100, period: int = 1) -> NodeCost:
        """This cost (its weights costed as an array in BRAM) with the weight memory placed in `memory` (bram,
        uram, lutram or off_chip, read as a packed ROM of words where the MAC takes a word stream);
        with `on_chip` < 100 only that percent of its depth stays in `memory` and the rest streams from DRAM,
        to a MAC that spends `period` cycles on each word (a weight-stationary tile, WEIGHT_PERIOD_FACTOR)."""
        if self.weight_width == 0:
            return self
        return self.with_change(memory_change(self.weight_memory(), memory, on_chip, period))

    def weight_memory(self) -> tuple[int, int, int, bool, float]:
        """What placing its weights depends on: (width, depth, bits of a weight, word stream, sweeps)."""
        return self.weight_width, self.weight_depth, self.weight_bits, self.word_stream, self.weight_sweeps

    def with_change(self, change: tuple[int, int, int, int, int]) -> NodeCost:
        """This cost plus (BRAM18, URAM, LUT, FF, off-chip bits) `change` (`memory_change`)."""
        bram, urams, luts, ff, offchip = change
        return _replace(self, bram18=self.bram18 + bram, uram=self.uram + urams, lut=self.lut + luts, ff=self.ff + ff,
                        offchip_bits=self.offchip_bits + offchip)


def memory_change(weights: tuple[int, int, int, bool, float], memory: str, on_chip: int = 100,
                  period: int = 1, adapters: Callable[[int, int, int], tuple[int, Logic]] = weight_reader_adapters
                  ) -> tuple[int, int, int, int, int]:
    """(BRAM18, URAM, LUT, FF, off-chip bits) a node gains when its weight memory (`NodeCost.weight_memory`), costed
    as an array in BRAM, is placed as `NodeCost.with_memory` says; `adapters`: hardware/offchip.py
    weight_reader_adapters, or a caller's memo of it."""
    width, depth, bits, word_stream, sweeps = weights
    in_bram = bram18(width, depth)
    if memory == "off_chip" or on_chip < 100:
        on, off = (0, depth) if memory == "off_chip" else split_depth(depth, on_chip)
        saved_lut = 0 if in_bram else lutram_luts(width, depth) if width * depth else 0
        # the streamed words pass through the FIFO from the weight reader to the MAC (offchip.h)
        buffer_bram, buffer_lut = word_fifo(width)
        ports_bram, ports = adapters(width, bits or width, period)
        spilled = (-in_bram + buffer_bram + ports_bram, 0, -saved_lut + buffer_lut + ports.lut, ports.ff,
                   round(streamed_weight_bits(width, off, sweeps)))
        if memory == "off_chip" or on == 0:
            return spilled
        if memory == "bram":
            on_bram, on_lut = array_cost(width, on)
            return spilled[0] + on_bram, 0, spilled[2] + on_lut, *spilled[3:]
        if memory == "uram":
            return spilled[0], uram(width, on), *spilled[2:]
        if memory == "lutram":
            return spilled[0], 0, spilled[2] + lutram_luts(width, on), *spilled[3:]
        raise ValueError(f"unknown memory '{memory}'")
    # a MAC taking a word stream reads a packed ROM of its words through weight_rom (weights.h) and a FIFO
    fifo_bram, fifo_lut = word_fifo(width) if word_stream else (0, 0)
    if memory == "bram":
        return fifo_bram, 0, fifo_lut, 0, 0
    if memory == "uram":
        blocks = uram_rom(width, depth, bits or width) if word_stream else uram(width, depth)
        return -in_bram + fifo_bram, blocks, fifo_lut, 0, 0
    if memory == "lutram":
        extra = lutram_luts(width, depth) if in_bram else 0  # tiny memories are LUTRAM already
        return -in_bram + fifo_bram, 0, extra + fifo_lut, 0, 0
    raise ValueError(f"unknown memory '{memory}'")


def word_fifo(width: int) -> tuple[int, int]:
    """(BRAM18, LUT) of the FIFO of weight words from a node's weight reader or ROM to its MAC (a FIFO's memory:
    BRAM, SRL or LUTRAM, UG573/UG574)."""
    blocks = bram18(width, WEIGHT_FIFO_DEPTH, fifo=True)
    return blocks, 0 if blocks else lutram_luts(width, WEIGHT_FIFO_DEPTH)


NO_CHANGE = (0, 0, 0, 0, 0)  # a `memory_change` of nothing
_FIELDS = NodeCost.__slots__
_field_values = operator.attrgetter(*_FIELDS)
_set_field = object.__setattr__


def _replace(cost: NodeCost, **changes) -> NodeCost:
    """`cost` with `changes`: dataclasses.replace, a third faster (explore replaces ~10^6 costs): the fields set
    as NodeCost's own __init__ sets them, no keyword dict built."""
    new = object.__new__(NodeCost)
    for name, value in zip(_FIELDS, _field_values(cost)):
        _set_field(new, name, value)
    for name, value in changes.items():
        _set_field(new, name, value)
    return new


Folding = tuple[int, ...]
# Where a node's multipliers are: "dsp", "lut", or an int, the percent of them on DSPs (the rest in fabric)
Mult = str | int
# The folding factor of a MAC that applies each weight word to that many output pixels, a cycle each, before
# the next (conv.h conv_mac_tiled): its weight reader has as many cycles per word (hardware/offchip.py dram_layout)
WEIGHT_PERIOD_FACTOR = "tile"


@dataclass(eq=False)
class NodeModel:
    """One node's cost as a function of its folding; `factors[i]` must divide `extents[i]`."""

    op: Operation
    name: str
    op_name: str
    factors: tuple[str, ...]
    extents: tuple[int, ...]
    # (folding[, inner product[, tile memories in LUTRAM]]): a MAC kind's takes the product (inner_product.py), a
    # conv's where its tile memories live (dataflow.tile_lutram)
    evaluate: Callable[..., NodeCost]
    macs: int = 0
    macs_per_dsp: float = 1.0
    lut_per_mac: float = 0.0  # LUTs of one fabric multiplier at its widths (0: no multipliers)
    adder_lut_per_mac: float = 0.0  # LUTs of one MAC's accumulating adder, on a DSP or not
    has_weights: bool = False
    elastic: bool = False  # its output waits in DRAM: a join needs no on-chip FIFO for it up to `ring_words`
    ring_words: int = 0  # words of its output the DRAM holds (a ring of whole inferences); the rest wait on chip
    buildable: Callable[[Folding], bool] | None = None  # the foldings its HLS stage realises (None: all)
    # drops buildable foldings not worth costing, for an inner product (None: the IR's)
    sift: Callable[[list[Folding], str | None], list[Folding]] | None = None
    # the places of a tiled conv's tile memories explore weighs at a folding (`lutram_options`; None: none)
    tile_lutrams: Callable[[Folding], tuple[str | None, ...]] | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def cost(self, folding: Folding, memory: str = "bram", mult: Mult = "dsp", on_chip: int = 100,
             product: str | None = None, lutram: str | None = None) -> NodeCost:
        """The cost of a design point (analyses/network.py Choice); `product` the MAC's inner product (None: the IR's,
        kinds/inner_product.py), `lutram` a tiled conv's tile memories in LUTRAM (dataflow.tile_lutram; None: none
        above a BRAM's worth)."""
        key = (folding, memory, mult, on_chip, product, lutram)
        hit = self._cache.get(key)
        if hit is None:
            if mult != "dsp":
                hit = self.cost(folding, memory, "dsp", on_chip, product, lutram).with_mult(mult)
            else:
                hit = self._with_memory(self.evaluated(folding, product, lutram), memory, on_chip,
                                        self.weight_period(folding))
            self._cache[key] = hit
        return hit

    def _with_memory(self, cost: NodeCost, memory: str, on_chip: int, period: int) -> NodeCost:
        """`cost.with_memory` (`memory_change`)."""
        return cost if cost.weight_width == 0 else cost.with_change(self.memory_change(cost, memory, on_chip, period))

    def memory_change(self, cost: NodeCost, memory: str, on_chip: int, period: int) -> tuple[int, int, int, int, int]:
        """What `cost` (a cost of this node's kind, `evaluated`) gains with its weight memory placed as
        `NodeCost.with_memory` says (kinds/cost.py `memory_change`; none without weights), remembered by weight
        memory and place (foldings share them). With `evaluated` and `NodeCost.mult_change` it is a design point's
        use without its NodeCost: explore weighs ~10^6 points and needs the NodeCosts of few."""
        if cost.weight_width == 0:
            return NO_CHANGE
        key = ("memory", cost.weight_memory(), memory, on_chip, period)
        change = self._cache.get(key)
        if change is None:
            change = self._cache[key] = memory_change(cost.weight_memory(), memory, on_chip, period, self._adapters)
        return change

    def placed_use(self, cost: NodeCost, memory: str, on_chip: int, period: int) -> tuple[int, int, int, int, int]:
        """(BRAM18, URAM, LUT, FF, off-chip bits) of `cost` (`evaluated`) with its weight memory placed so
        (`memory_change`), multipliers on DSPs: what explore's and the weight placement's rows weigh."""
        bram, urams, luts, ff, offchip = self.memory_change(cost, memory, on_chip, period)
        return (cost.bram18 + bram, cost.uram + urams, cost.lut + luts, cost.ff + ff, cost.offchip_bits + offchip)

    def _adapters(self, width: int, bits: int, period: int) -> tuple[int, Logic]:
        """hardware/offchip.py weight_reader_adapters, remembered: the node's points share few word widths and
        periods (ResNet-50's explore pass asked it 113k times, 4 % of its CPU time)."""
        key = ("adapters", width, bits, period)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = weight_reader_adapters(width, bits, period)
        return hit

    def evaluated(self, folding: Folding, product: str | None = None, lutram: str | None = None) -> NodeCost:
        """The kind's cost at `folding` (its weights an array in BRAM, before `with_memory` places them), its tile
        memories in LUTRAM as `lutram` says (a tiled conv's: dataflow.tile_lutram)."""
        key = (folding, product, lutram)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self.evaluate(folding, product, lutram) if lutram is not None else \
                self.evaluate(folding) if product is None else self.evaluate(folding, product)
        return hit

    def lutram_options(self, folding: Folding) -> tuple[str | None, ...]:
        """The values of dataflow.tile_lutram explore weighs at `folding`, None (the rule) first: just None for a
        node without tile memories (kinds/conv.py `tile_lutram_options`)."""
        return (None,) if self.tile_lutrams is None else self.tile_lutrams(folding)

    def weight_period(self, folding: Folding) -> int:
        """Cycles its MAC spends on each weight word at `folding` (a factor absent from a short folding is 1)."""
        at = self.factors.index(WEIGHT_PERIOD_FACTOR) if WEIGHT_PERIOD_FACTOR in self.factors else len(folding)
        return folding[at] if at < len(folding) else 1

    def folding_options(self, ones: frozenset[str] = frozenset(), product: str | None = None) -> list[Folding]:
        """Every legal folding: each factor a divisor of its extent (a partial factor: the least value
        for each number of steps), and one the kind builds and deems worth costing (`sift`) with the inner
        product `product` (None: the IR's); the factors in `ones` only at 1 (the buildable check is the costly
        part: it runs on no folding a caller would drop, once for every product)."""
        built = self._cache.get(("options", ones))
        if built is None:
            built = self._cache[("options", ones)] = self._buildable_options(ones)
        if self.sift is None:
            return built
        sifted = self._cache.get(("sifted", ones, product))
        if sifted is None:  # asked again by each search costing the node's points (with splits, with FFIP)
            sifted = self._cache[("sifted", ones, product)] = self.sift(built, product)
        return sifted

    def _buildable_options(self, ones: frozenset[str]) -> list[Folding]:
        partial = self.op.partial_factors() if isinstance(self.op, NodeOp) else frozenset()
        options: list[Folding] = [()]
        for name, extent in zip(self.factors, self.extents):
            values = [1] if name in ones else step_factors(extent) if name in partial else divisors(extent)
            options = [o + (d,) for o in options for d in values]
        if self.buildable is not None:
            options = [o for o in options if self.buildable(o)]
        return options

    def ir_folding(self) -> Folding:
        """The folding written on the op (factors absent from the IR are 1)."""
        return tuple(self.op.folding().values())

    def ir_memory(self) -> str:
        attr = self.op.attributes.get(WEIGHTS_MEMORY_ATTR)
        return attr.data if attr is not None and attr.data in WEIGHT_MEMORIES else "bram"

    def ir_on_chip(self) -> int:
        """Percent of the weight memory the IR keeps on chip (`dataflow.weights_on_chip`; 100 when absent)."""
        attr = self.op.attributes.get(WEIGHTS_ON_CHIP_ATTR)
        return attr.value.data if attr is not None and self.ir_memory() != "off_chip" else 100

    def ir_lutram(self) -> str | None:
        return tile_lutram(self.op)

    def ir_mult(self) -> Mult:
        """The IR's multipliers as a cost option: "dsp", "lut", or the percent on DSPs of a split (NodeOp.dsp_share)."""
        share = self.op.dsp_share() if isinstance(self.op, NodeOp) else 100
        return "dsp" if share == 100 else "lut" if share == 0 else share


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def step_factors(n: int) -> list[int]:
    """For each number of steps s over an extent n, the least factor taking s steps: ceil(n/s).
    A larger factor with as many steps costs more and is no faster (9: 1, 2, 3, 5, 9)."""
    return sorted({-(-n // s) for s in range(1, n + 1)})


# ---- number formats

def fixed_width(attr: Attribute | None, default: int) -> int:
    """Width of a FixedType, the widest of an array of them (per-channel formats), else `default`."""
    if isinstance(attr, FixedType):
        return attr.width.data
    if isinstance(attr, ArrayAttr) and attr.data and all(isinstance(a, FixedType) for a in attr.data):
        return max(a.width.data for a in attr.data)
    if isinstance(attr, IntegerType):  # integer streams (token ids) keep their width
        return attr.width.data
    return default


def stream_bits(value: SSAValue) -> int:
    """Bits of one element of a stream (16 for float streams until quantized)."""
    return fixed_width(value.type.element_type, DEFAULT_DATA_BITS)


def weight_bits(value: SSAValue | None) -> int:
    """Bits of one weight: the producing `dataflow.weights` op's `format`, else the default."""
    if value is not None and isinstance(value.owner, (WeightsOp, SparseWeightsOp)):
        return fixed_width(value.owner.format, DEFAULT_WEIGHT_BITS)
    return DEFAULT_WEIGHT_BITS


# The signal-to-quantization-noise ratios quantize measures on each node (passes/quantize.py), a report no cost reads
SQNR_ATTR = "sqnr"
# PASS/HASS statistic measured by the activation-sparsity pass: per input channel, counts of window-filter
# pairs by number of zero products
ZERO_HISTOGRAM_ATTR = "dataflow.zero_histogram"


def zero_counts(op: Operation) -> np.ndarray | None:
    """The counts the activation-sparsity pass measured for `op` (None if none): per input channel
    C x (K+1), or per input channel and filter of its group C x F/groups x (K+1)."""
    attr = op.attributes.get(ZERO_HISTOGRAM_ATTR)
    if attr is None:
        return None
    return np.array(attr.data["counts"].get_values(), dtype=np.float64).reshape(attr.data["counts"].get_shape())


def zero_histogram(op: Operation) -> np.ndarray | None:
    """P_c(z) (C x (K+1), rows summing to 1, over the filters a channel meets) measured for `op`, else None."""
    counts = zero_counts(op)
    if counts is None:
        return None
    if counts.ndim == 3:
        counts = counts.sum(axis=1)
    return counts / counts.sum(axis=1, keepdims=True)


def acc_bits(op: Operation) -> int:
    return fixed_width(op.properties.get("acc_format"), DEFAULT_ACC_BITS)


def is_node(op: Operation) -> bool:
    """Hardware stages: every dataflow node except weight constants (costed in their consumer)."""
    return isinstance(op, NodeOp) and not isinstance(op, (WeightsOp, SparseWeightsOp))


def describe(op: Operation, shared: dict | None = None) -> NodeModel:
    """The cost model of one node: its kind's `cost` facet. Given `shared` (by `cost_key`: the models described
    before), a model described before with its key, whose node is as it was then, is its model, made its node's
    (equal keys, equal cost models: its costs found are its own): explore rebuilds a module's network many times
    (DenseNet-121 ZCU102: 10 times), and a kind's facet may read a node's whole body (a 16-bit hardswish map checks
    its division for every input code: MobileNetV3-Large ZCU102's explore spent 4.5 of its 78 CPU s there)."""
    key = None if shared is None else cost_key(op)
    if key is None:
        return kind_of(op).cost(op)
    first, state = shared.get(key, (None, None))
    if first is not None and _state(first.op) == state:
        return replace(first, op=op, name=node_label(op))
    model = kind_of(op).cost(op)  # new, or its node changed since (its facet reads its node): its costs still hold
    if first is not None:
        model._cache = first._cache
    shared[key] = model, _state(op)
    return model


def _state(op: Operation) -> tuple:
    """What of a node its cost model may read: its operands' and results' types, its properties and attributes."""
    return (tuple(v.type for v in op.operands), tuple(r.type for r in op.results), tuple(op.properties.items()),
            tuple(op.attributes.items()))


def cost_key(op: Operation, design: frozenset[str] = frozenset()) -> Hashable | None:
    """A key two nodes share only if their kind builds them equal cost models, so a search costs the
    design points of repeated layers once, and a later search (explore's FIFO rounds, its tile-major re-search)
    those of the nodes it costed before: the op class, its properties but its name and folding factors (a cost
    model is a function of the folding: the IR's is a design choice), its attributes but the SQNR quantize
    measured (each node's own: with it no two quantized nodes shared a key) and the `design` ones (those a design
    point carries, which a caller writes: passes/explore.py DESIGN_ATTRS), operand and result types (a stream's
    but its FIFO depth and memory, which no kind's cost reads), the formats of the weights it reads and its body.
    None where there is no such key: the kind's cost reads the weight values (zero skipping), or an attribute is
    unhashable."""
    if kind_of(op).cost_reads_weights:
        return None
    folding = set(op.folding_extents()) if isinstance(op, NodeOp) else set()
    formats = tuple(v.owner.format if isinstance(v.owner, (WeightsOp, SparseWeightsOp)) else None for v in op.operands)
    key = (type(op), tuple(sorted((k, v) for k, v in op.properties.items() if k != "name" and k not in folding)),
           tuple(sorted((k, v) for k, v in op.attributes.items() if k != SQNR_ATTR and k not in design)),
           tuple(_type_key(v.type) for v in op.operands), formats,
           tuple(_type_key(r.type) for r in op.results), tuple(_region_text(r) for r in op.regions))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _type_key(t: Attribute) -> Hashable:
    """What of a value's type a node's cost reads: a stream's shape, numbers and order, not its FIFO."""
    return (tuple(t.get_shape()), t.element_type, t.order) if isinstance(t, StreamType) else t


def _region_text(region) -> str:
    """A region printed on its own: its values named in order of appearance, so equal bodies print equal."""
    text = io.StringIO()
    Printer(stream=text).print_region(region)
    return text.getvalue()


def tile_lutram(op: Operation) -> str | None:
    """The tile memories the IR puts in LUTRAM whatever their size (dataflow.tile_lutram; None: absent): the one
    reader of the attribute (kinds/conv.py `tile_memories`, for the cost and the HLS stage)."""
    attr = op.attributes.get(TILE_LUTRAM_ATTR)
    return attr.data if attr is not None else None


def node_cost(op: Operation) -> NodeCost:
    """Cost of a node at the folding and weight memory written in the IR."""
    model = describe(op)
    return model.cost(model.ir_folding(), model.ir_memory(), model.ir_mult(), model.ir_on_chip(), None,
                      model.ir_lutram())


def folding_of(op: NodeOp) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Factor names and extents, as the node kind states them (`NodeOp.folding_extents`)."""
    extents = op.folding_extents()
    return tuple(extents), tuple(extents.values())


def node_label(op: Operation) -> str:
    attr = op.properties.get("name")
    return attr.data if attr is not None else op.name


def array_cost(width: int, depth: int) -> tuple[int, int]:
    """(BRAM18, LUT) of an on-chip array: BRAM18 unless under a BRAM's worth, then LUTRAM."""
    blocks = bram18(width, depth)
    # Xilinx UG574 / fpgaConvNet: arrays below 1024 bits are implemented as LUTRAM
    return blocks, 0 if blocks or width * depth == 0 else lutram_luts(width, depth)


class LaneRam(NamedTuple):
    """Where a memory read and written each cycle lives (`lane_ram`), and what it takes there."""

    lutram: bool
    bram18: int
    lut: int


def lane_ram(width: int, depth: int, lutram: bool = False) -> LaneRam:
    """A width x depth memory read at one address and written at another each cycle (a simple dual-port RAM: a
    tiled conv's sums or kept outputs of a filter lane, conv.h `lane_ram`), where `array_cost` puts it: LUTRAM
    under a BRAM's worth, else BRAM, or in LUTRAM whatever its size (`lutram`). Above a BRAM's worth LUTRAM trades
    BRAM18 for LUTs, which no fixed rate weighs right (ZCU102's designs are short of both): explore weighs it, a
    design point of its own (dataflow.tile_lutram)."""
    blocks, luts = array_cost(width, depth)
    if lutram and blocks:
        # UG574 (RAM64M8): 8 LUT6s of a SLICEM make a 64-deep x 7-bit simple dual-port RAM, as a LUTRAM FIFO's
        return LaneRam(True, 0, lutram_fifo_luts(width, depth))
    return LaneRam(not blocks, blocks, luts)


def buffer_cost(width: int, depth: int, bits: int) -> tuple[int, int]:
    """(BRAM18, LUT) of a buffer of `bits`-bit lanes read whole every cycle, as window.h builds it: a packed
    array, or under a LUT RAM's depth an array a lane (`lane_banks`)."""
    banks = lane_banks(width // bits, depth) if width else 1
    blocks, luts = array_cost(width // banks, depth)
    return blocks * banks, luts * banks


@dataclass(frozen=True, slots=True)
class WindowCost:
    """The sliding-window generator in front of a conv or pool: memories and fill."""

    bram18: int
    lut: int
    fill: int  # cycles from the first input beat to the first complete window
    fill_fraction: float  # share of the input (its pixels, padding not counted) read by then


def sliding_window_cost(h: int, w: int, c: int, kr_span: int, kc_span: int, pads: tuple[int, int, int, int],
                        bits: int, coarse: int, coarse_group: int = 1, line_buffer_on_chip: bool = True,
                        pixels: int = 1, col_stride: int = 1) -> WindowCost:
    """fpgaConvNet's sliding_window module: line buffer (unless evicted to DRAM), window registers, fill latency;
    over `pixels` whole pixels a beat (window.h sliding_window_px) the window spans (P-1) x `col_stride` more
    columns and fills in steps of P columns."""
    pt, pb, pl, pr = pads
    l_bram, l_lut = (buffer_cost(*line_buffer(c, w, kr_span, bits, coarse, coarse_group, pl, pr), bits)
                     if line_buffer_on_chip else (0, 0))
    span = kc_span + (pixels - 1) * col_stride  # the columns of its P windows
    x_bram, x_lut = buffer_cost(*window_buffer(c, kr_span, span, bits, coarse, coarse_group), bits)
    # window.h walks the top and left padding before its first input beat: not counted from that beat
    ahead = (pt * (w + pl + pr) + pl) * -(-c // (coarse * coarse_group))
    fill = max(0, sliding_window_fill(w, c, kr_span, span, coarse, coarse_group, pl, pr) - ahead) if pixels == 1 \
        else sliding_window_px_fill(kr_span, kc_span, col_stride, pads, w, pixels)
    # fpgaConvNet sliding window: the first window is complete at padded position (Kr-1, Kc-1), having
    # read the input rows above it and that row's pixels up to its column
    rows, cols = kr_span - 1 - pt, span - pl
    read = 0 if rows < 0 else rows * w + min(w, max(0, cols))
    return WindowCost(l_bram + x_bram, l_lut + x_lut, fill, min(1.0, read / (h * w)))


def coarse_pixel_lanes(op: Operation, folding=None) -> int:
    """Lanes of a stage folded over channels (`coarse`) and adjacent whole pixels (`pixels`, 1 where
    the op has no such factor): their product, in and out."""
    f = op.folding() if folding is None else folding
    return f["coarse"] * f.get("pixels", 1)


def whole_pixel_beats(coarse: int, pixels: int, channels: int) -> bool:
    """Whether `pixels` per beat is realisable by a stage that puts several pixels in a beat only
    when the beat holds every channel of each (`coarse` = C)."""
    return pixels == 1 or coarse == channels


def port_pixel_extents(stream: StreamType) -> dict[str, int]:
    """A graph port's folding: `pixels` per beat dividing the row width of an N x H x W x C stream (other
    ranks: one)."""
    shape = stream.get_shape()
    return {"pixels": shape[2] if len(shape) == 4 else 1}


def port_pixel_lanes(stream: StreamType, folding: Mapping[str, int]) -> int:
    """Lanes of a graph port: `pixels` whole pixels when more than one, else 0 (the port takes the lanes
    of the stage it meets, so no lane converter). The emitter, the schedules and the network's
    converters all read it (kinds/source.py port_lanes, kinds/sink.py sink_lanes)."""
    px = folding.get("pixels", 1)
    return 0 if px == 1 else px * stream.get_shape()[-1]


def pixel_port(op: Operation, stream: StreamType) -> NodeModel:
    """Graph input/output: moves one pixel (all channels of a position) per cycle over AXI, or
    `pixels` adjacent ones where the op has that factor (spatial parallelism). No logic of its own: the
    port is an AXI4-Stream interface of the stage it meets (its producer, its consumer, or the lane
    converter between them: backends/hls/emit.py), whose logic counts the beats it registers."""
    shape = stream.get_shape()
    c = shape[-1]
    bits = fixed_width(stream.element_type, DEFAULT_DATA_BITS)

    def evaluate(folding: Folding) -> NodeCost:
        px = folding[0] if folding else 1
        # dfcc: a graph port is as wide as `pixels` pixels (C words each), so H*W/pixels cycles
        cycles = -(-(stream.num_elements // c) // px)
        # fpgaConvNet: graph inputs and outputs are DMA transfers from and to DRAM; the port an axis interface
        # of the stage it meets (Vitis HLS UG1399, INTERFACE axis), no stage of its own
        return NodeCost(cycles=cycles, depth=STAGE_PIPELINE_CYCLES, fill=0.0, dsp=0, bram18=0, uram=0,
                        lut=0, ff=0, out_lanes=c * px, offchip_bits=stream.num_elements * bits)

    return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate)


def buffered_stage(op: Operation, words_in: int, words_out: int, buffer_words: int, bits: int,
                   in_turn: bool = False, tail_words: int = 0,
                   buildable: Callable[[Folding], bool] | None = None) -> NodeModel:
    """A data-movement stage moving `coarse` words per cycle (x `pixels` when it has that factor:
    its lanes are its factors' product; 1 if it has none) and holding `buffer_words` (the op's
    buffer_words()) in a memory that many words wide; `in_turn`: it reads and writes in separate loops
    (kinds/pad.py emit_hls), so the cycles add up; `tail_words`: words it writes after its last read
    (a row buffer draining, kinds/depth_to_space.py); `buildable`: the foldings its HLS realises."""

    def evaluate(folding: Folding) -> NodeCost:
        lanes = math.prod(folding)
        # fpgaConvNet streaming layers: max(words in, words out) / coarse cycles
        reads, writes = -(-words_in // lanes), -(-words_out // lanes)
        cycles = reads + writes if in_turn else int(stage_cycles(reads, 1, writes, 1)) + -(-tail_words // lanes)
        blocks, luts = array_cost(bits * lanes, -(-buffer_words // lanes))
        logic = stage_logic(lanes, bits)
        return NodeCost(cycles=cycles, depth=-(-buffer_words // lanes) + STAGE_PIPELINE_CYCLES,
                        fill=min(1.0, buffer_words / max(words_in, 1)), dsp=0, bram18=blocks, uram=0,
                        lut=logic.lut + luts, ff=logic.ff, out_lanes=lanes)

    return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate, buildable=buildable)


def tensor_elements(value: SSAValue) -> int:
    count = 1
    for d in value.type.get_shape():
        count *= d
    return count
