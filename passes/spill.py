"""spill{platform=NAME utilisation=0.9 step=10 weights=true skips=true line-buffers=true}: move weight
memories, skip connections and conv line buffers off chip until the design at the IR's folding fits the
board (AutoWS / SMOF greedy).

Each move is one of
- keep `step` percent less of a node's weight memory on chip (AutoWS: the memory is split by depth; the
  streamed part is re-read from DRAM on every sweep, `dataflow.weights_on_chip` records the rest; at 0 the
  node's `dataflow.weights_memory` becomes off_chip);
- evict a skip connection's FIFO (SMOF): a `dataflow.ddr_fifo` node is put on the join input, its words
  wait in a DRAM ring buffer instead of BRAM (written once, read once); the ring's m_axi adapters take
  some BRAM back;
- evict a conv's line buffer (SMOF): `dataflow.line_buffer = "off_chip"`, its input waits in a DRAM ring
  and each output row's window rows are read back (written once, about Kr times re-read).
The move taken is the one freeing the most of the over-budget memories (BRAM18, URAM, LUT as fractions of
the budget) per off-chip bit it adds, until nothing is over budget. Bandwidth is not a limit here: if the
traffic exceeds the board's, the estimate stretches the II (AutoWS). `explore{off-chip-weights=true
evict-skips=true}` makes the same trades with the folding: `place_weights` is this trade at explore's
foldings, with LUTRAM as a place too and the bandwidth at the target II as a budget, and
`evict_paying_skips` evicts each skip whose FIFO takes more BRAM than its ring's adapters (for explore's
evict-skips=auto, more of the BRAM and LUT budget together: on a ZCU102 DenseNet-121's rings' logic binds), at the
IR's folding; `skips_worth_evicting` chooses them again at a design's foldings, pricing the BRAM a ring frees at
the DRAM bits the design's streamed weights take per BRAM18 (`streamed_bits_per_block`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from dfcc.analyses.network import (
    DEFAULT_FIFO_DEPTH, PLATFORM_ATTR, RESOURCE_LABELS, RESOURCES, Choice, Network, Totals, budget, fifo_memory,
)
from dfcc.dialects.dataflow import WEIGHTS_MEMORY_ATTR, WEIGHTS_ON_CHIP_ATTR
from dfcc.errors import DfccError
from dfcc.hardware.memory import bram18
from dfcc.hardware.offchip import evicted_stream_bits
from dfcc.hardware.platforms import DEFAULT_PLATFORM, Platform, load_platform
from dfcc.hardware.roofline import multiplier_roofline
from dfcc.kinds.cost import NodeModel, describe
from dfcc.kinds import DdrFifoOp
from dfcc.kinds.ddr_fifo import RING_INFERENCES, ring_adapters
from dfcc.kinds.window import LINE_BUFFER_ATTR, WindowOp

SPILL_STEP = 10  # AutoWS: a move spills 10% of one layer's weight memory
MEMORIES = ("bram18", "uram", "lut")  # what spilling frees


def write_weights_memory(op: Operation, memory: str, on_chip: int) -> None:
    """Record where a node's weights live: `memory` for the `on_chip` percent, DRAM for the rest."""
    if memory == "bram":
        op.attributes.pop(WEIGHTS_MEMORY_ATTR, None)
    else:
        op.attributes[WEIGHTS_MEMORY_ATTR] = StringAttr(memory)
    if on_chip < 100 and memory != "off_chip":
        op.attributes[WEIGHTS_ON_CHIP_ATTR] = IntegerAttr(on_chip, i64)
    else:
        op.attributes.pop(WEIGHTS_ON_CHIP_ATTR, None)


def evict(value: SSAValue, consumer: Operation) -> DdrFifoOp:
    """Put a DRAM ring buffer holding RING_INFERENCES whole tensors between `value` and the join `consumer`."""
    if value.type.depth.data != DEFAULT_FIFO_DEPTH:
        value = Rewriter.replace_value_with_new_type(value, value.type.with_depth(DEFAULT_FIFO_DEPTH))
    name = f"{consumer.node_name.data}_ddr{list(consumer.operands).index(value)}"
    fifo = DdrFifoOp(value, RING_INFERENCES * value.type.num_elements, name)
    Rewriter.insert_op(fifo, InsertPoint.before(consumer))
    consumer.operands = [fifo.output if operand == value else operand for operand in consumer.operands]
    return fifo


@dataclass(frozen=True)
class SkipFifo:
    """A join input whose on-chip FIFO could move to DRAM."""

    edge: int
    bram18: int  # the on-chip FIFO's
    lut: int
    bits: int  # off-chip bits per inference once evicted
    ring_bram18: int  # the DRAM ring's m_axi adapters'
    ring_lut: int

    @property
    def pays(self) -> bool:
        """Evicting frees BRAM: the FIFO takes more than the ring's adapters (SMOF)."""
        return self.bram18 > self.ring_bram18

    def pays_within(self, limits: dict[str, float]) -> bool:
        """Evicting frees budget: the FIFO takes a larger share of `limits` in BRAM18 and LUT together than the
        ring's adapters (SMOF's rule with the adapters' logic counted, for boards where LUTs bind too)."""
        def share(bram18: int, lut: int) -> float:
            return bram18 / max(limits["bram18"], 1e-9) + lut / max(limits["lut"], 1e-9)
        return share(self.bram18, self.lut) > share(self.ring_bram18, self.ring_lut)


def skip_fifos(network: Network, totals: Totals) -> list[SkipFifo]:
    out = []
    for e, depth in sorted(totals.fifo_depths.items()):
        edge = network.edges[e]
        if len(network.in_edges[edge.consumer]) < 2 or network.nodes[edge.producer].elastic:
            continue
        lanes = totals.costs[edge.producer].out_lanes
        blocks, _, luts = fifo_memory(depth, edge.bits, lanes, totals.fifo_memories.get(e, "auto"))
        if blocks or luts:
            ring_bram, ring = ring_adapters(max(1, lanes), edge.bits)
            out.append(SkipFifo(e, blocks, luts, evicted_stream_bits(edge.elements, edge.bits), ring_bram, ring.lut))
    return out


def fastest_ii(network: Network, platform: Platform, choices: list[Choice]) -> float:
    """Cycles per inference no design of the network beats on `platform`: every multiplier busy every
    cycle (the roofline), and the graph's ports at the lanes `choices` give them."""
    dsp_per_mac, lut_per_mac, adder_lut = network.mac_costs()
    ii = 1.0
    if dsp_per_mac:
        fps = multiplier_roofline(platform.dsp, dsp_per_mac, platform.lut, lut_per_mac, platform.clock_mhz,
                                  network.macs(), adder_lut)
        ii = platform.clock_mhz * 1e6 / fps
    ports = [i for i in range(len(network.nodes)) if not network.in_edges[i] or not network.out_edges[i]]
    return max([ii] + [network.nodes[i].cost(*choices[i]).cycles for i in ports])


def evict_paying_skips(module: ModuleOp, platform: Platform, utilisation: float, logic: bool = False) -> int:
    """Evict each skip connection whose on-chip FIFO (sized at the IR's folding) takes more BRAM than its
    DRAM ring's m_axi adapters (with `logic`, more of the budget in BRAM and LUT together: `pays_within`),
    while the DRAM traffic fits `utilisation` of the board's bandwidth at the fastest II the network could
    run at (so at any); the most BRAM freed per off-chip bit first. Returns how many moved: each is a
    `dataflow.ddr_fifo` on its edge of the IR."""
    # SMOF (Montgomerie-Corcoran et al.): a skip buffer moves off chip when that saves on-chip memory,
    # within the off-chip bandwidth; the traffic of an evicted skip counts twice (written, read back)
    network = Network.from_module(module)
    choices = network.ir_choices()
    totals = network.evaluate(choices, respect_ir_depths=True)
    room = utilisation * platform.bandwidth_bits_per_cycle * fastest_ii(network, platform, choices) - totals.offchip_bits
    moved = []
    limits = budget(platform, utilisation)
    paying = [f for f in skip_fifos(network, totals) if (f.pays_within(limits) if logic else f.pays)]
    for f in sorted(paying, key=lambda f: -(f.bram18 - f.ring_bram18) / f.bits):
        if f.bits <= room:
            room -= f.bits
            moved.append(network.edges[f.edge])
    for edge in moved:
        evict(edge.value, network.nodes[edge.consumer].op)
    return len(moved)


def streamed_bits_per_block(network: Network, choices: list[Choice], totals: Totals) -> float:
    """The DRAM bits per inference the design (`choices`, `totals`) streams for its weights, per BRAM18 those streamed
    weights would take on chip (0 when none stream): what a BRAM18 freed for them saves, on average."""
    # AutoWS: the streamed part of a weight memory is re-read from DRAM on every sweep, its traffic the node's
    bits = blocks = 0
    for model, (_, memory, _, on_chip, *_), cost in zip(network.nodes, choices, totals.costs):
        if model.has_weights and (memory == "off_chip" or on_chip < 100):
            streamed = 100 if memory == "off_chip" else 100 - on_chip
            bits += cost.offchip_bits
            blocks += bram18(cost.weight_width, -(-cost.weight_depth * streamed // 100))
    return bits / blocks if blocks else 0.0


def skips_worth_evicting(network: Network, totals: Totals, bits_per_block: float) -> list[SkipFifo]:
    """The skip connections of a design (`totals`: its foldings' FIFOs) whose FIFO takes more BRAM than its ring's
    adapters (`pays`) and whose ring adds fewer DRAM bits than the BRAM it frees saves holding streamed weights
    (`bits_per_block`: `streamed_bits_per_block`), where the DRAM traffic binds as the memories do."""
    # SMOF's trade (BRAM freed for off-chip bits) at AutoWS's price of a BRAM18 in DRAM bits
    return [f for f in skip_fifos(network, totals) if f.pays and f.bits < bits_per_block * (f.bram18 - f.ring_bram18)]


def ring_edges(module: ModuleOp) -> set[tuple[str, int]]:
    """The skip connections `module` holds in DRAM rings: each ring's consumer's node name and operand."""
    return {(use.operation.node_name.data, use.index) for op in module.walk() if isinstance(op, DdrFifoOp)
            for use in op.output.uses}


def edge_name(network: Network, edge: int) -> tuple[str, int]:
    """Edge `edge` of `network` by its consumer's node name and operand, as `ring_edges` names a ring's: the same
    skip connection in a clone of the graph, or with rings added or dropped."""
    e = network.edges[edge]
    return network.nodes[e.consumer].op.node_name.data, e.operand


def evict_edges(module: ModuleOp, edges: set[tuple[str, int]]) -> int:
    """Evict the skip connections `edges` of `module` (`edge_name`) to DRAM rings; how many moved."""
    network = Network.from_module(module)
    moved = [e for i, e in enumerate(network.edges) if edge_name(network, i) in edges]
    for edge in moved:
        evict(edge.value, network.nodes[edge.consumer].op)
    return len(moved)


def line_buffer_evicted(op: Operation) -> NodeModel | None:
    """The cost model of `op` with its line buffer in DRAM (SMOF), if it has one that could move there: a
    dense conv of more than one kernel row, one pixel per beat."""
    if not (isinstance(op, WindowOp) and op.EVICTABLE_LINE_BUFFER and not op.line_buffer_off_chip()
            and op.ints_prop("kernel")[0] > 1 and op.folding().get("pixels", 1) == 1):
        return None
    op.attributes[LINE_BUFFER_ATTR] = StringAttr("off_chip")
    try:
        return describe(op)
    finally:
        del op.attributes[LINE_BUFFER_ATTR]


PLACED = ("bram18", "uram", "lut", "offchip_bits")  # what moving a weight memory trades


def weight_place_options(model: NodeModel, folding: tuple[int, ...], mult: str, product: str | None,
                         platform: Platform, splits: bool = True) -> list[tuple[str, int]]:
    """Where node `model`'s weights may live at `folding`: whole in BRAM, URAM, LUTRAM or DRAM, or (with `splits`)
    split by depth (AutoWS) at every percent that changes the on-chip memory (the most kept on chip of equals)."""
    memories = [m for m in ("bram", "uram") if m != "uram" or platform.uram > 0]
    places = [(m, 100) for m in memories] + [("lutram", 100), ("off_chip", 100)]
    cost, period = model.evaluated(folding, product), model.weight_period(folding)
    for memory in memories if splits else ():
        seen = set()
        for on_chip in range(99, 0, -1):
            # the on-chip memory a split changes (its multipliers add the same LUTs to every place)
            change = model.memory_change(cost, memory, on_chip, period)[:3]
            if change not in seen:
                seen.add(change)
                places.append((memory, on_chip))
    return places


def _place_rows(model: NodeModel, folding: tuple[int, ...], mult: str, product: str | None, lutram: str | None,
                platform: Platform, splits: bool) -> tuple[list[Choice], np.ndarray]:
    """The node's places (`weight_place_options`) as choices, and what each uses of PLACED: its cost's, as
    `NodeModel.cost` gives it, from the changes its weight memory and multipliers make (kinds/cost.py), its NodeCost
    not built (those of the moves taken are: ~200 places a node, 23 of Inception-v3's 600 profiled explore seconds
    went to building them)."""
    cost, period = model.evaluated(folding, product, lutram), model.weight_period(folding)
    mult_lut = 0 if mult == "dsp" or cost.mult_lut == 0 else cost.mult_change(mult)[1]
    choices, rows = [], []
    for memory, on_chip in weight_place_options(model, folding, mult, product, platform, splits):
        bram, urams, luts, _, offchip = model.placed_use(cost, memory, on_chip, period)
        choices.append((folding, memory, mult, on_chip, product, lutram))
        rows.append((bram, urams, luts + mult_lut, offchip))
    return choices, np.array(rows, dtype=np.float64).reshape(-1, len(PLACED))


def place_weights(network: Network, choices: list[Choice], totals: Totals, limits: dict[str, float],
                  platform: Platform, known: dict | None = None) -> tuple[list[Choice], Totals] | None:
    """The same foldings with weight memories moved between BRAM, URAM, LUTRAM and DRAM until BRAM18, URAM,
    LUT and off-chip bits per inference are within `limits` (None if no sequence of moves gets there).

    AutoWS's greedy, with every memory a move may trade into: each move frees the most of what is over
    budget per share of the room it takes in the others, and never takes more than that room. The folding
    and multipliers stay, so the DSPs, the FIFOs and the lane converters do too. `known` holds each node's places
    as earlier calls on this network and platform costed them (explore's search calls it once a target)."""
    known = {} if known is None else known
    current, costs = list(choices), list(totals.costs)
    used = {k: float(getattr(totals, k)) for k in PLACED}
    weighted = [i for i, m in enumerate(network.nodes) if m.has_weights]
    # depth splits (~100 points a node) are not costed where none can be the move: with the DRAM traffic at its
    # limit and every memory whole, a split either adds traffic (from on chip) or frees no on-chip memory (from DRAM)
    splits = used["offchip_bits"] != limits["offchip_bits"] or any(current[i][3] < 100 for i in weighted)
    # every node's every place as one row (what it would use there), so a move's choice is one numpy step
    moves, rows, owner = [], [], []
    for i in weighted:
        folding, _, mult, _, product, lutram = current[i]
        key = (i, folding, mult, product, lutram, splits)
        if key not in known:
            known[key] = _place_rows(network.nodes[i], folding, mult, product, lutram, platform, splits)
        moves += known[key][0]
        rows.append(known[key][1])
        owner += [i] * len(known[key][0])
    after_use = np.concatenate(rows) if rows else np.zeros((0, len(PLACED)))
    owner = np.array(owner, dtype=np.intp)
    now = np.array([[getattr(cost, k) for k in PLACED] for cost in costs], dtype=np.float64).reshape(-1, len(PLACED))
    while True:
        over = [k for k in PLACED if used[k] > limits[k]]
        if not over:
            break
        room = {k: limits[k] - used[k] for k in PLACED if k not in over}
        delta = after_use - now[owner]
        # the sums in the order of PLACED, as the greedy states them: a move within the room, freeing what is over
        # (freeing more than is over counts no more: the least move that fits wins over a bigger one) per share
        # of the room it takes
        gain = np.zeros(len(owner))
        for k in over:
            j = PLACED.index(k)
            gain = gain + np.minimum(-delta[:, j], used[k] - limits[k]) / max(limits[k], 1e-9)
        spend = np.zeros(len(owner))
        fits = gain > 0
        for k in room:
            j = PLACED.index(k)
            fits &= delta[:, j] <= room[k]
            spend = spend + np.maximum(delta[:, j], 0.0) / max(room[k], 1e-9)
        if not fits.any():
            return None
        value = np.where(fits, gain / (spend + 1e-9), -np.inf)
        best = int(np.argmax(value))  # the first of equals
        i, current[i] = int(owner[best]), moves[best]
        after = network.nodes[i].cost(*current[i])
        for k in PLACED:
            used[k] += getattr(after, k) - getattr(costs[i], k)
        costs[i] = after
        now[i] = after_use[best]
    placed = network.evaluate(current, max_bits_per_cycle=platform.bandwidth_bits_per_cycle, fifo_limits=limits)
    fits = not placed.overshoot({k: limits[k] for k in RESOURCES}) and placed.offchip_bits <= limits["offchip_bits"]
    return (current, placed) if fits else None


def _write_choices(network: Network, choices: list[Choice]) -> None:
    for model, (_, memory, _, on_chip, *_) in zip(network.nodes, choices):
        if model.has_weights:
            write_weights_memory(model.op, memory, on_chip)


def spill(module: ModuleOp, platform: Platform, utilisation: float = 0.9, step: int = SPILL_STEP,
          weights: bool = True, skips: bool = True, line_buffers: bool = True) -> Totals:
    """The AutoWS / SMOF greedy of the module docstring; returns the totals of the design that fits."""
    if not 1 <= step <= 100:
        raise DfccError(f"spill: step must be a percent in 1..100, got {step}")
    limits = budget(platform, utilisation)
    network = Network.from_module(module)
    choices = network.ir_choices()
    while True:
        # FIFO depths already in the IR (explore's, fifo sizing's) stay: their memory counts here
        totals = network.evaluate(choices, respect_ir_depths=True, max_bits_per_cycle=platform.bandwidth_bits_per_cycle)
        over = [k for k, _, _ in totals.overshoot(limits)]
        if not over:
            _write_choices(network, choices)
            return totals
        if any(k not in MEMORIES for k in over):
            k = next(k for k in over if k not in MEMORIES)
            raise DfccError(f"spill: the design needs {totals.resource(k):,} {RESOURCE_LABELS[k]} on {platform.name} "
                            f"(budget {limits[k]:,.0f}); moving memories off chip cannot help (fold it with explore)")
        best = None  # (score, kind, what)

        def consider(saved: dict[str, int], bits: int, move) -> None:
            nonlocal best
            gain = sum(saved.get(k, 0) / max(limits[k], 1e-9) for k in over)
            if gain <= 0:
                return
            score = gain / bits if bits > 0 else float("inf")
            if best is None or score > best[0]:
                best = (score, move)

        if weights:
            for i, model in enumerate(network.nodes):
                folding, memory, mult, on_chip, product, lutram = choices[i]
                if not model.has_weights or memory == "off_chip":
                    continue
                left = on_chip - step
                new = (folding, "off_chip", mult, 100, product, lutram) if left <= 0 else \
                    (folding, memory, mult, left, product, lutram)
                before, after = totals.costs[i], model.cost(*new)
                consider({k: getattr(before, k) - getattr(after, k) for k in MEMORIES},
                         after.offchip_bits - before.offchip_bits, ("weights", i, new))
        if line_buffers:
            for i, model in enumerate(network.nodes):
                evicted = line_buffer_evicted(model.op)
                if evicted is not None:
                    before, after = totals.costs[i], evicted.cost(*choices[i])
                    consider({k: getattr(before, k) - getattr(after, k) for k in MEMORIES},
                             after.offchip_bits - before.offchip_bits, ("line_buffer", i, None))
        if skips:
            for f in skip_fifos(network, totals):
                consider({"bram18": f.bram18 - f.ring_bram18, "lut": f.lut - f.ring_lut}, f.bits, ("skip", f.edge, None))
        if best is None:
            k = over[0]
            raise DfccError(f"spill: the design does not fit on {platform.name} even with every weight memory, "
                            f"skip connection and line buffer off chip: it needs {totals.resource(k):,} {RESOURCE_LABELS[k]}, the "
                            f"budget is {limits[k]:,.0f}")
        kind, index, new = best[1]
        if kind == "weights":
            choices[index] = new
            continue
        _write_choices(network, choices)
        if kind == "line_buffer":
            network.nodes[index].op.attributes[LINE_BUFFER_ATTR] = StringAttr("off_chip")
        else:
            edge = network.edges[index]
            evict(edge.value, network.nodes[edge.consumer].op)
        network = Network.from_module(module)
        choices = network.ir_choices()


@dataclass(frozen=True)
class Spill(ModulePass):
    """Spill weights and skip connections off chip until the design fits (see module docstring)."""

    name = "spill"

    platform: str = DEFAULT_PLATFORM
    utilisation: float = 0.9
    step: int = SPILL_STEP
    weights: bool = True
    skips: bool = True
    line_buffers: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        board = load_platform(self.platform)
        spill(op, board, float(self.utilisation), int(self.step), bool(self.weights), bool(self.skips),
              bool(self.line_buffers))
        op.attributes[PLATFORM_ATTR] = StringAttr(self.platform.lower() if self.platform.lower() == board.name.lower()
                                                  else self.platform)
