"""Network totals: the pipeline's initiation interval and latency, skip-connection FIFO sizes, and
the resources of every node plus FIFOs and lane converters, for one choice of folding and weight
memory per node.

The FIFOs costed are those the cycle-level sizing (analyses/fifo_sizing.py) finds the largest: a join's inputs,
each holding what its producer writes before the join reads it (both ends' spans of an inference traced as in
the steady state), a skip evicted to a DRAM ring holding on chip what the ring cannot, and a tiled conv's stored
tile waiting for a slower reader (or for the lane converter narrowing it, in front of a tiled conv). Others the
sizing deepens (a fork feeding a tiled conv ahead of its pace, a bottleneck conv's fill read ahead of its feed)
are not costed: on ResNet-50 for a ZCU102 the costed FIFOs were 73 % and 94 % of the sized ones' BRAM18.

A lane converter (`dfcc::lanes`) sits on every edge whose producer writes other lanes than its
consumer reads (each kind states both: `stream_lanes`, `read_lanes`), as the HLS emitter inserts it;
it is a stage of the pipeline like the nodes, so its cycles bound the II and its depth adds to the latency.

The graph is read from the IR once (`Network.from_module`); `Network.evaluate(choices)` is then a
pure function of the choices, which is what the DSE calls in its loop.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from heapq import heappop, heappush
from itertools import chain, groupby
from operator import attrgetter, itemgetter

from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue

from dfcc.kinds.cost import NodeCost, NodeModel, describe, is_node, stream_bits
from dfcc.kinds.inner_product import ir_product
from dfcc.dialects.dataflow import PLATFORM_ATTR, StreamType
from dfcc.errors import DfccError
from dfcc.hardware.cycles import (
    PIPELINED_LOOP_LATENCY, batch_cycles, lane_conversion_steps, lane_converter_cycles, lane_converter_depth,
    lane_converter_interval, lane_converter_tail, network_ii,
)
from dfcc.hardware.logic import lane_converter_logic
from dfcc.kinds.registry import kind_of
from dfcc.kinds.source import SourceOp, port_lanes
from dfcc.analyses.fifo_memory import ranked_moves, take_moves
from dfcc.analyses.sized_depths import depths_sized
from dfcc.hardware.memory import fifo_blocks, held_inferences, rate_limited_burst, skip_fifo_depth
from dfcc.hardware.offchip import bandwidth_limited_ii

RESOURCES = ("dsp", "bram18", "uram", "lut", "ff")
_DSP, _BRAM18, _URAM, _LUT, _FF = map(attrgetter, RESOURCES)  # a resource of a node's cost or a converter
RESOURCE_LABELS = {"dsp": "DSP", "bram18": "BRAM18", "uram": "URAM", "lut": "LUT", "ff": "FF"}
DEFAULT_FIFO_DEPTH = 2  # StreamType's default depth

# (folding, weight memory, multiplier implementation, percent of the weight memory on chip, inner product: "direct",
# "ffip", or None where the node has none to choose, kinds/inner_product.py; a tiled conv's tile memories in LUTRAM
# whatever their size: dataflow.tile_lutram, None for none or no such memories)
Choice = tuple[tuple[int, ...], str, str, int, str | None, str | None]


@dataclass(frozen=True, slots=True)
class Edge:
    producer: int  # node index
    consumer: int
    value: SSAValue
    elements: int
    bits: int
    ir_depth: int
    operand: int  # its position among the consumer's operands
    ir_memory: str = "auto"  # its FIFO's memory in the IR (StreamType.memory)


@dataclass(frozen=True, slots=True)
class Converter:
    """The lane converters on one edge: `elements` per inference from `lanes_in` to `lanes_out` lanes. Its figures
    are worked out once, when it is made: the search reads them millions of times (DenseNet-121's pass for a U250:
    ~2 M reads of its cycles, ~1.6 M of its depth)."""

    edge: int  # edge index
    elements: int
    lanes_in: int
    lanes_out: int
    bits: int
    cycles: int = field(init=False, compare=False, repr=False)
    depth: int = field(init=False, compare=False, repr=False)  # lane_converter_depth
    fill: float = field(init=False, compare=False, repr=False)
    pipeline: int = field(init=False, compare=False, repr=False)  # its stages' pipelined loop latencies
    interval: int = field(init=False, compare=False, repr=False)  # lane_converter_interval
    tail: int = field(init=False, compare=False, repr=False)  # lane_converter_tail
    lut: int = field(init=False, compare=False, repr=False)
    ff: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        lanes_in, lanes_out = self.lanes_in, self.lanes_out
        logic = lane_converter_logic(lanes_in, lanes_out, self.bits)
        # fill: share of its input's span (first to last beat) before its first output beat: it needs
        # ceil(out / in) input beats, and the first of them arrives at the span's start
        fill = (-(-lanes_out // lanes_in) - 1) / max(self.elements // lanes_in - 1, 1)
        for name, value in (("cycles", lane_converter_cycles(self.elements, lanes_in, lanes_out)),
                            ("depth", lane_converter_depth(lanes_in, lanes_out)), ("fill", fill),
                            ("pipeline", PIPELINED_LOOP_LATENCY * len(lane_conversion_steps(lanes_in, lanes_out))),
                            ("interval", lane_converter_interval(lanes_in, lanes_out)),
                            ("tail", lane_converter_tail(lanes_in, lanes_out)),
                            ("lut", logic.lut), ("ff", logic.ff)):
            object.__setattr__(self, name, value)

    def logic(self) -> tuple[int, int]:
        """(LUT, FF) of its stages (hardware/logic.py lane_converter_logic)."""
        return self.lut, self.ff


@dataclass(frozen=True)
class Totals:
    """One design point: per-node costs, pipeline figures and resources (FIFOs included)."""

    costs: tuple[NodeCost, ...]
    ii: int
    bottleneck: int  # node index
    depth_cycles: int  # pipeline depth along the longest path
    fifo_depths: dict[int, int]  # edge index -> depth in beats (StreamType.depth), for edges over the default
    fifo_bram18: int
    fifo_lut: int
    dsp: int
    bram18: int
    uram: int
    lut: int
    ff: int
    offchip_bits: int = 0  # DRAM traffic per inference (graph I/O, streamed weights)
    compute_ii: int = 0  # slowest stage, before the off-chip bandwidth limit
    first_latency: int = 0  # cycles of one inference through the empty pipeline (0: II + depth)
    converters: tuple[Converter, ...] = ()  # lane converters, on edges whose two ends' lanes differ
    fifo_uram: int = 0
    fifo_memories: dict[int, str] = field(default_factory=dict)  # edge index -> its FIFO's memory, where not auto

    @property
    def bandwidth_bound(self) -> bool:
        return self.ii > self.compute_ii

    @property
    def latency_cycles(self) -> float:
        if self.first_latency:
            return self.first_latency + self.ii - self.compute_ii
        return batch_cycles(self.ii, 1, self.depth_cycles)

    def resource(self, key: str) -> int:
        return getattr(self, key)

    def fifo_use(self, key: str) -> int:
        """What its FIFOs take of resource `key` (BRAM18, URAM or LUTs; none of the others)."""
        return {"bram18": self.fifo_bram18, "uram": self.fifo_uram, "lut": self.fifo_lut}.get(key, 0)

    def overshoot(self, limits: dict[str, float]) -> list[tuple[str, int, float]]:
        """(resource, used, limit) for every resource above its limit."""
        return [(k, self.resource(k), limits[k]) for k in RESOURCES if self.resource(k) > limits[k]]


class Network:
    """The nodes of a dataflow function in topological (IR) order and the streams between them."""

    def __init__(self, nodes: list[NodeModel], edges: list[Edge], sized: bool = False):
        self.nodes = nodes
        self.edges = edges
        self.sized = sized  # its IR depths were sized for this design (analyses/sized_depths.py): they are its depths
        self.in_edges: list[list[int]] = [[] for _ in nodes]
        self.out_edges: list[list[int]] = [[] for _ in nodes]
        for i, e in enumerate(edges):
            self.in_edges[e.consumer].append(i)
            self.out_edges[e.producer].append(i)
        # each node's main producer (-1: none) and in-edges as (edge index, producer, elements, bits): the lanes
        # walks below run in the search's inner loop
        self._main = [edges[ins[0]].producer if ins else -1 for ins in self.in_edges]
        self._main_edges = {ins[0] for ins in self.in_edges if ins}  # each node's main input
        self._fed = [sorted({edges[e].consumer for e in outs}) for outs in self.out_edges]  # each node's consumers
        self._main_fed = [[q for q in fed if self._main[q] == i] for i, fed in enumerate(self._fed)]  # ... as main
        self._ins = [[(e, edges[e].producer, edges[e].elements, edges[e].bits) for e in ins] for ins in self.in_edges]
        self._lanes: dict[tuple[int, tuple[int, ...], int], tuple[tuple[int, ...], int]] = {}
        self._paced_cycles: dict[tuple[int, tuple[int, ...], int, int], int] = {}
        self._paced_costs: dict[tuple[int, Choice, int], NodeCost] = {}
        self._fifo_moves: dict[tuple, tuple[tuple, ...]] = {}  # `_moves`, by edge, width, depth and limits
        self._made: dict[tuple[int, int, int], Converter] = {}  # each converter made, by (edge, lanes in, lanes out)
        # `converters`' last walk: its choices, the lanes each node writes, each node's input converters, all of them
        self._walked: tuple[list[Choice], list[int], list[Sequence[Converter]], tuple[Converter, ...]] | None = None
        self._join_nodes = [i for i, ins in enumerate(self.in_edges) if len(ins) > 1]
        self._joins = bool(self._join_nodes)
        self._producers = [[edges[e].producer for e in ins] for ins in self.in_edges]
        self._most_out = [max((edges[e].elements for e in outs), default=0) for outs in self.out_edges]  # largest out-edge
        self._last: _Walk | None = None  # `evaluate`'s last walk
        # `held_inferences` of each join input's spans met (II, its producer's last output and its reads, from its
        # first output): the search's designs mostly move a join's spans together (DenseNet-121 zoo: 9 in 10)
        self._held: dict[tuple[float, ...], float] = {}

    @staticmethod
    def from_module(module: ModuleOp) -> Network:
        ops = [op for op in module.walk() if is_node(op)]
        if not ops:
            raise DfccError("no dataflow nodes in the module: run lower-to-dataflow first")
        index: dict[Operation, int] = {op: i for i, op in enumerate(ops)}
        shared = module.__dict__.setdefault(_COST_MODELS, {})
        nodes = [describe(op, shared) for op in ops]
        edges = []
        for op in ops:
            for operand, value in enumerate(op.operands):
                if isinstance(value.type, StreamType) and value.owner in index:
                    edges.append(Edge(index[value.owner], index[op], value, value.type.num_elements,
                                      stream_bits(value), value.type.depth.data, operand, value.type.memory.data))
        return Network(nodes, edges, depths_sized(module))

    def ir_choices(self) -> list[Choice]:
        return [(m.ir_folding(), m.ir_memory(), m.ir_mult(), m.ir_on_chip(), ir_product(m.op), m.ir_lutram())
                for m in self.nodes]

    def macs(self) -> int:
        return sum(m.macs for m in self.nodes)

    def mac_costs(self) -> tuple[float, float, float]:
        """(DSPs, fabric multiplier LUTs, adder LUTs) one MAC per cycle takes on average over the
        network's MACs (DSPs at each node's packing; the adder on a DSP or not): the roofline's cost
        per unit of compute."""
        macs = self.macs()
        if not macs:
            return 0.0, 0.0, 0.0
        dsp = sum(m.macs / m.macs_per_dsp for m in self.nodes if m.macs) / macs
        lut = sum(m.macs * m.lut_per_mac for m in self.nodes if m.macs) / macs
        adder = sum(m.macs * m.adder_lut_per_mac for m in self.nodes if m.macs) / macs
        return dsp, lut, adder

    def node_lanes(self, i: int, folding: tuple[int, ...], producer_lanes: int) -> tuple[tuple[int, ...], int]:
        """(lanes node `i` reads each in-edge in, lanes it writes) at `folding`; cached."""
        key = (i, folding, producer_lanes)
        hit = self._lanes.get(key)
        if hit is None:
            model = self.nodes[i]
            kind, factors = kind_of(model.op), dict(zip(model.factors, folding))
            reads = tuple(kind.read_lanes(model.op, self.edges[e].value, factors, producer_lanes) for e in self.in_edges[i])
            # a graph input's port: `pixels` whole pixels, or the lanes its consumer reads (0: no converter)
            writes = port_lanes(model.op, factors) if isinstance(model.op, SourceOp) else \
                0 if not self.out_edges[i] else kind.stream_lanes(model.op, factors)[1]
            hit = self._lanes[key] = (reads, writes)
        return hit

    def producer_lanes(self, i: int, out: list[int]) -> int:
        """Lanes of node `i`'s main input as its producer writes them (`out`: lanes per node)."""
        p = self._main[i]
        return (out[p] or 1) if p >= 0 else 1

    def lanes(self, choices: list[Choice], out: list[int] | None = None, start: int = 0) -> list[int]:
        """Lanes each node writes under `choices` (0: a graph input, its port as wide as its consumer reads);
        given `out`, the lanes of choices that differ from these only at node `start`, only that node and
        those whose main input's lanes change with it (later in topological order) are recomputed; without,
        those of the last `converters` walk where it had these choices (the search asks both of one design)."""
        if out is None:
            if self._walked is not None and self._walked[0] == choices:
                return list(self._walked[1])
            out = [0] * len(self.nodes)
            for i in range(len(choices)):
                out[i] = self._lanes_at(i, choices[i][0], out)[1]
            return out
        out = list(out)
        pending = [start]  # a heap: consumers come after their producers, so the least index is walked first
        while pending:
            i = heappop(pending)
            before, out[i] = out[i], self._lanes_at(i, choices[i][0], out)[1]
            if out[i] != before:
                for q in self._main_fed[i]:
                    if q not in pending:
                        heappush(pending, q)
        return out

    def _lanes_at(self, i: int, folding: tuple[int, ...], out: list[int]) -> tuple[tuple[int, ...], int]:
        """`node_lanes` of node `i` at `folding`, its main producer writing `out` lanes (the search's inner loop)."""
        p = self._main[i]
        key = (i, folding, (out[p] or 1) if p >= 0 else 1)
        hit = self._lanes.get(key)
        return hit if hit is not None else self.node_lanes(*key)

    def _converters_in(self, i: int, reads: tuple[int, ...], out: list[int]) -> list[Converter]:
        """The converters in front of node `i` reading `reads` lanes, its producers writing `out` lanes."""
        found = []
        for (e, producer, elements, bits), lanes in zip(self._ins[i], reads):
            written = out[producer]
            if written and written != lanes:
                conv = self._made.get((e, written, lanes))
                if conv is None:
                    conv = self._made[e, written, lanes] = Converter(e, elements, written, lanes, bits)
                found.append(conv)
        return found

    def input_converters(self, i: int, folding: tuple[int, ...], out: list[int]) -> list[Converter]:
        """The lane converters in front of node `i` at `folding`, its producers writing `out` lanes."""
        return self._converters_in(i, self._lanes_at(i, folding, out)[0], out)

    def converters(self, choices: list[Choice]) -> tuple[Converter, ...]:
        """The lane converters the HLS emitter inserts for `choices`, edge by edge (in one walk: every
        producer comes before its consumers). The search's designs mostly differ from the last one asked at a few
        nodes: only the nodes whose folding differs, and the consumers of those whose lanes then differ, are walked
        again; the others keep the last walk's lanes and converters (the walk was an eighth of DenseNet-121's
        evaluate)."""
        n, last = len(choices), self._walked
        if last is None or len(last[0]) != n:
            out, found = [0] * n, [()] * n
            for i, choice in enumerate(choices):
                reads, out[i] = self._lanes_at(i, choice[0], out)
                found[i] = self._converters_in(i, reads, out) if reads else ()
        else:
            before = last[0]
            differ = [i for i, (now, then) in enumerate(zip(choices, before)) if now is not then and now != then]
            if not differ:
                return last[3]
            out, found = list(last[1]), list(last[2])
            pending = [i for i in differ if choices[i][0] != before[i][0]]  # a heap: the least index walked first
            while pending:
                i = heappop(pending)
                reads, lanes = self._lanes_at(i, choices[i][0], out)
                found[i] = self._converters_in(i, reads, out) if reads else ()
                if lanes != out[i]:  # its consumers' converters change with it
                    out[i] = lanes
                    for q in self._fed[i]:
                        if q not in pending:
                            heappush(pending, q)
        converters = tuple(chain.from_iterable(found))
        self._walked = (list(choices), out, found, converters)
        return converters

    def evaluate(self, choices: list[Choice], respect_ir_depths: bool = False,
                 max_bits_per_cycle: float | None = None, trace_latency: bool = True,
                 fifo_limits: dict[str, float] | None = None) -> Totals:
        """Totals of one design point; with `max_bits_per_cycle` (the platform's off-chip bandwidth)
        the II is slowed to what DRAM can feed. Without `trace_latency` the first inference's latency is
        not traced (a search comparing IIs and resources needs none) and `latency_cycles` is the
        coarser II + pipeline depth. With `respect_ir_depths` the FIFOs have the depths the IR sets (the costed
        ones where it leaves the default) and their IR memories; given the budget `fifo_limits` (per resource),
        the others move out of BRAM while it is over (analyses/fifo_memory.py)."""
        last = self._last if self._last is not None and len(self._last.choices) == len(choices) else None
        if last is None:
            chosen = tuple(m.cost(*choice) for m, choice in zip(self.nodes, choices))  # (folding, memory, ...)
        else:  # a node chosen as in the last walk keeps its cost
            chosen = tuple(cost if choice is then else m.cost(*choice)
                           for m, choice, then, cost in zip(self.nodes, choices, last.choices, last.chosen))
        converters = self.converters(choices)
        on_edge = {c.edge: c for c in converters}
        costs = self._paced(chosen, choices, on_edge)
        changed = self._changed(costs, on_edge, last)
        start = min(changed, default=len(costs))
        latency = self._latency(costs, on_edge, last, start)
        cycles = [c.cycles for c in costs]
        for c in converters:  # a converter is named after, and counted as the bottleneck of, its consumer
            cycles[self.edges[c.edge].consumer] = max(cycles[self.edges[c.edge].consumer], c.cycles)
        compute_ii = network_ii(cycles)
        offchip = sum(c.offchip_bits for c in costs)
        ii = compute_ii
        if max_bits_per_cycle and compute_ii:
            # AutoWS / SMOF: II' = II * BW_total / BW_max, whole cycles
            ii = math.ceil(bandwidth_limited_ii(compute_ii, offchip / compute_ii, max_bits_per_cycle) - 1e-9)
        trace = held = None
        if self._joins:  # the trace is fed over the II: a design at another II is traced again from the first node
            again = last is not None and last.feed == ii
            # the skip FIFOs from the trace late on chains of tiled convs: its slack at their joins stands in for what
            # the sizing puts at their heads and ends (DenseNet-121 ZCU102 16-bit: map -> tiled conv 44 BRAM18, tiled
            # conv -> concat 67, of a 101 BRAM18 gap), which this model does not cost; from the exact trace the gap
            # was 106, and the sized depths took 3 FIFO rounds, to II 5,230,848 rather than 2 to 4,221,056
            trace = self._trace(costs, on_edge, ii, last.trace if again else None, changed, exact=False)
            held = self._skip_fifos(costs, ii, trace, last.held if again else None, start)
        bursts = self._burst_fifos(costs, on_edge, last.bursts if last is not None else None, start, changed)
        # the skip FIFOs' edges first, then the bursts', then the tails'
        fifo_depths = _deepest(chain(held or (), bursts[1], (self._tail_fifos(costs, ii),)))
        if respect_ir_depths and self.sized:  # every depth the IR sets is the design's, a default one too
            fifo_depths = {}
        if respect_ir_depths:  # a depth the IR sets is the design's (explore's are sized by simulation); a default
            for i, edge in enumerate(self.edges):  # one, unless sized, is what the cost says the design needs
                if edge.ir_depth > DEFAULT_FIFO_DEPTH:
                    fifo_depths[i] = edge.ir_depth
                elif edge.ir_memory != "auto":
                    fifo_depths[i] = max(fifo_depths.get(i, 0), edge.ir_depth)
        first_latency = int(round(max(self._trace(costs, on_edge)[1]))) if trace_latency else 0
        conv_lut, conv_ff = sum(map(_LUT, converters)), sum(map(_FF, converters))
        used = {"bram18": sum(map(_BRAM18, costs)), "uram": sum(map(_URAM, costs)),
                "lut": sum(map(_LUT, costs)) + conv_lut}  # by the nodes and the lane converters
        fifos = self._fifos(fifo_depths, costs, respect_ir_depths, fifo_limits, last, changed)
        fifo_memories, (fifo_bram, fifo_uram, fifo_lut) = self._fifo_memories(fifos, fifo_depths, fifo_limits, used)
        self._last = _Walk(list(choices), chosen, costs, on_edge, latency, ii, trace, held, bursts, fifos)
        return Totals(
            costs=costs, ii=ii, bottleneck=cycles.index(compute_ii), offchip_bits=offchip, compute_ii=compute_ii, depth_cycles=max(latency),
            fifo_depths=fifo_depths, fifo_bram18=fifo_bram, fifo_lut=fifo_lut, first_latency=first_latency,
            dsp=sum(map(_DSP, costs)), bram18=used["bram18"] + fifo_bram,
            uram=used["uram"] + fifo_uram, lut=used["lut"] + fifo_lut,
            ff=sum(map(_FF, costs)) + conv_ff, converters=converters, fifo_uram=fifo_uram,
            fifo_memories=fifo_memories,
        )

    def _changed(self, costs: tuple[NodeCost, ...], on_edge: dict[int, Converter], last: _Walk | None) -> set[int]:
        """The nodes whose cost or input converters differ from the `last` walk's (every node without one). Each
        node's figures depend on its own and its producers' alone, and producers come first: the nodes before the
        first of these walk as they did there."""
        if last is None:
            return set(range(len(costs)))
        changed = {i for i, (now, then) in enumerate(zip(costs, last.costs)) if now is not then}
        for e in on_edge.keys() | last.on_edge.keys():
            if on_edge.get(e) is not last.on_edge.get(e):
                changed.add(self.edges[e].consumer)
        return changed

    def _latency(self, costs: tuple[NodeCost, ...], on_edge: dict[int, Converter], last: _Walk | None,
                 start: int) -> list[int]:
        """Each node's pipeline depth along the longest path to it, those before `start` as in the `last` walk."""
        latency = [0] * len(costs) if last is None else list(last.latency)
        for i in range(start, len(costs)):
            ins, cost = self.in_edges[i], costs[i]
            if len(ins) == 1:  # most nodes: their producer's latency without the generator (the search's inner loop)
                conv = on_edge.get(ins[0])
                latency[i] = latency[self._main[i]] + (conv.depth if conv is not None else 0) + cost.depth
                continue
            latency[i] = max((latency[self.edges[e].producer] + (on_edge[e].depth if e in on_edge else 0)
                              for e in ins), default=0) + cost.depth
        return latency

    def _fifos(self, depths: dict[int, int], costs: tuple[NodeCost, ...], respect_ir: bool,
               limits: dict[str, float] | None, last: _Walk | None, changed: set[int]) -> _Fifos:
        """The FIFOs of `depths`: each one's (width, depth, memory: the IR's with `respect_ir`, else auto), what they
        take and, given `limits`, their moves out of BRAM (analyses/fifo_memory.py `ranked_moves`), in rank order.
        From the `last` walk's (ranked with the same limits), only the FIFOs whose depth or producer's lanes differ
        (its nodes `changed`) are costed again: a search's designs mostly differ at a few dozen FIFOs of hundreds
        (zoo DenseNet-121 U250: ~50 of ~570)."""
        key = (respect_ir, None if not limits else (limits["uram"], limits["lut"]))
        before = last.fifos if last is not None and last.fifos.key == key else None
        touched = depths.keys()
        if before is not None:
            touched = {e for e, _ in depths.items() ^ before.depths.items()}
            for i in changed:  # a FIFO is as wide as its producer's beats
                if costs[i].out_lanes != last.costs[i].out_lanes:
                    touched.update(e for e in self.out_edges[i] if e in before.shapes or e in depths)
            if 4 * len(touched) > len(depths):  # most of them: sorted again at once rather than one at a time
                before, touched = None, depths.keys()
        shapes, taken, ranked = ({}, [0, 0, 0], []) if before is None else \
            (dict(before.shapes), list(before.taken), list(before.ranked))
        edges = self.edges
        for e in touched:
            old = shapes.pop(e, None)
            if old is not None:
                for k, amount in enumerate(old[3]):
                    taken[k] -= amount
                for move in self._moves(e, old, limits):
                    del ranked[bisect_left(ranked, move)]
            depth = depths.get(e)
            if depth is None:
                continue
            memory = edges[e].ir_memory if respect_ir else "auto"
            width = edges[e].bits * max(1, costs[edges[e].producer].out_lanes)
            shape = shapes[e] = (width, depth, memory, fifo_blocks(width, depth, memory))
            for k, amount in enumerate(shape[3]):
                taken[k] += amount
            for move in self._moves(e, shape, limits):
                if before is None:
                    ranked.append(move)
                else:
                    insort(ranked, move)
        if before is None:
            ranked.sort()
        return _Fifos(key, dict(depths), shapes, tuple(taken), ranked)  # a copy: the totals hand `depths` out

    def _moves(self, e: int, shape: tuple[int, int, str, tuple[int, int, int]], limits: dict[str, float] | None
               ) -> tuple[tuple, ...]:
        """The moves out of BRAM of edge `e`'s FIFO of `shape` (`_Fifos.shapes`) within `limits`: (rank, edge, memory,
        BRAM18 freed, resource taken, amount), none for a FIFO in the IR's memory; remembered."""
        width, depth, memory, _ = shape
        if not limits or memory != "auto":
            return ()
        key = (e, width, depth, limits["uram"], limits["lut"])
        moves = self._fifo_moves.get(key)
        if moves is None:
            moves = self._fifo_moves[key] = tuple((rank, e, *move) for rank, *move in ranked_moves(width, depth, limits))
        return moves

    def _fifo_memories(self, fifos: _Fifos, depths: dict[int, int], limits: dict[str, float] | None,
                       used: dict[str, int]) -> tuple[dict[int, str], tuple[int, int, int]]:
        """Each FIFO's memory where not auto: the IR's (`_fifos` with `respect_ir`), then the storage rule's for the
        others within `limits` (`used`: the BRAM18, URAM and LUT of the nodes and lane converters), each in the order
        of `depths`; and the (BRAM18, URAM, LUT) the FIFOs then take."""
        shapes, taken = fifos.shapes, fifos.taken
        fixed = {e: shapes[e][2] for e in depths if shapes[e][2] != "auto"} if fifos.key[0] else {}
        if not fifos.ranked or used["bram18"] + taken[0] <= limits["bram18"]:
            return fixed, taken  # the rule keeps every FIFO in auto memory while BRAM fits
        position = {e: k for k, e in enumerate(depths)}
        moved = take_moves(_in_rule_order(fifos.ranked, position),
                           {k: used[k] + amount for k, amount in zip(("bram18", "uram", "lut"), taken)}, limits)
        moved = dict(sorted(moved.items(), key=lambda item: position[item[0]]))
        for e, memory in moved.items():
            width, depth, _, _ = shapes[e]
            taken = tuple(now + new - old for now, new, old in
                          zip(taken, fifo_blocks(width, depth, memory), fifo_blocks(width, depth)))
        return fixed | moved, taken

    def paced_cycles(self, i: int, folding: tuple[int, ...], conv: Converter) -> int:
        """Cycles of node `i` at `folding` when `conv` (on its main input) widens its beats, which then
        come at most one per `lane_converter_interval` cycles (also when it narrows them to the gcd
        first: 4 -> 1 -> 3 lanes) (`NodeKind.paced_cycles`; 0: no effect); cached."""
        if not self._paces(conv):
            return 0
        key = (i, folding, conv.lanes_in, conv.lanes_out)
        cycles = self._paced_cycles.get(key)
        if cycles is None:
            model = self.nodes[i]
            cycles = self._paced_cycles[key] = kind_of(model.op).paced_cycles(
                model.op, dict(zip(model.factors, folding)), conv.interval)
        return cycles

    def _paces(self, conv: Converter) -> bool:
        """Whether `conv` may pace its consumer: it widens beats slower than one a cycle, on the consumer's main input."""
        return conv.interval > 1 and conv.edge in self._main_edges

    def _paced(self, costs: tuple[NodeCost, ...], choices: list[Choice],
               converters: dict[int, Converter]) -> tuple[NodeCost, ...]:
        """`costs` with the cycles of every node whose main input a converter widens at that pace (a walk over
        the converters, not the nodes: few nodes have one)."""
        paced = None
        for edge, conv in converters.items():
            if not self._paces(conv):  # most (zoo DenseNet-121 U250: ~440 of ~530)
                continue
            i = self.edges[edge].consumer
            cycles = self.paced_cycles(i, choices[i][0], conv)
            if cycles > costs[i].cycles:
                paced = list(costs) if paced is None else paced
                key = (i, choices[i], cycles)  # met again and again (inception_v3's search: 208k times)
                cost = self._paced_costs.get(key)
                if cost is None:
                    cost = self._paced_costs[key] = replace(costs[i], cycles=cycles)
                paced[i] = cost
        return costs if paced is None else tuple(paced)

    def _skip_fifos(self, costs: tuple[NodeCost, ...], ii: int, trace: _Trace, last: list[list[tuple[int, int]]] | None,
                    start: int) -> list[list[tuple[int, int]]]:
        """Each join's FIFOs (edge, depth in beats), those over the default, that its inputs need: each input holds
        what its producer writes before the join reads it (`held_inferences` over the two ends' spans of an
        inference, traced with the graph inputs fed over the II, as in the steady state, `_trace`), plus SATAY's
        margin. A producer whose output waits in a DRAM ring (a skip evicted, `ring_words`) holds that much off chip;
        the rest waits in the FIFO in front of its writer. Given the `last` walk's (at the same II), the joins
        before `start` keep theirs; an input whose spans, taken from its writer's first beat, were met before holds as
        much again. An edge's depth is the largest asked (`_deepest`)."""
        first, last_out, reads = trace[:3]
        held = [[] for _ in costs] if last is None else list(last)
        known, nodes, joins = self._held, self.nodes, self._join_nodes
        for i in joins[0 if last is None else bisect_left(joins, start):]:
            found = []
            for e, p, elements, _ in self._ins[i]:
                # its spans from its writer's first beat: a design that moves the join in time holds as much
                began, (read_first, read_last) = first[p], reads[e]
                spans = (ii, last_out[p] - began, read_first - began, read_last - began)
                held_then = known.get(spans)
                if held_then is None:
                    held_then = known[spans] = held_inferences(max(ii, 1), 0.0, *spans[1:])
                words = math.ceil(held_then * elements - 1e-6)
                ring = nodes[p].ring_words
                if ring:  # the words the ring cannot hold wait on chip, in front of its writer
                    e, words = self.in_edges[p][0], words - ring
                    p = self.edges[e].producer
                beats = -(-words // max(1, costs[p].out_lanes))
                if beats > DEFAULT_FIFO_DEPTH:
                    found.append((e, skip_fifo_depth(beats)))
            held[i] = found
        return held

    def _burst_fifos(self, costs: tuple[NodeCost, ...], converters: dict[int, Converter], last: _Bursts | None,
                     start: int, changed: set[int]) -> _Bursts:
        """Depth in beats of every FIFO that takes a burst (those over the default): a producer writing `out_burst`
        beats one a cycle (a tiled conv's tile of outputs), passed on by the nodes that keep its pace without a
        fill (a map, a fork; not a DRAM ring, whose reader waits on its consumer), at the slowest pace among them,
        into a reader slower than that pace: a join (ResNet's add) at the pace of its slowest consumer too, through
        the nodes that keep its pace (`_held_back`), since it passes no burst on; a burst into a lane converter
        narrowing it waits for the converter too (`converters`, by edge). Each node's burst (elements, elements a
        cycle, cycles from one burst's start to the next's), its inputs' FIFOs (edge, beats) and, for a join, the nodes
        its consumers' pace was read from; given the `last` walk's, the nodes before `start` keep theirs, a join too
        unless one of those is among the nodes `changed` (the search's trials: DenseNet-121 ZCU102, ~60 joins each)."""
        n = len(costs)
        bursts: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * n if last is None else list(last[0])
        fifos: list[list[tuple[int, int]]] = [[] for _ in costs] if last is None else list(last[1])
        paced_by: list[frozenset[int] | None] = [None] * n if last is None else list(last[2])
        main = self._main
        for i in range(0 if last is None else start, n):
            cost, ins = costs[i], self.in_edges[i]
            lanes = max(1, cost.out_lanes)
            bursts[i] = (0.0, 0.0, 0.0)
            fed = bursts[main[i]][0] if ins else 0.0  # its main producer's burst (most nodes: none)
            if cost.out_burst:
                words = cost.out_burst * lanes
                bursts[i] = (float(words), float(lanes), cost.cycles / -(-self._most_out[i] // words))
            elif fed and self._passes_pace(i, costs):
                words, pace, period = bursts[main[i]]
                bursts[i] = (words, min(pace, self.edges[ins[0]].elements / cost.cycles), period)
            if len(ins) == 1:
                fifos[i] = self._burst_fifo(i, costs, converters, bursts, cost.cycles) if fed else []
        for i in self._join_nodes:
            if i < start and paced_by[i] is not None and changed.isdisjoint(paced_by[i]):
                continue  # its inputs, their bursts and its consumers' pace as in the last walk
            if any(bursts[p][0] for p in self._producers[i]):
                seen: set[int] = set()
                fifos[i] = self._burst_fifo(i, costs, converters, bursts,
                                            max(costs[i].cycles, self._held_back(i, costs, seen)))
                paced_by[i] = frozenset(seen)
            else:
                fifos[i], paced_by[i] = [], None
        return bursts, fifos, paced_by

    def _tail_fifos(self, costs: tuple[NodeCost, ...], ii: int) -> list[tuple[int, int]]:
        """The input FIFOs (edge, beats; those over the default) of the nodes that work a `tail` after their last input
        beat without reading (a padded conv's windows over its bottom padding): what their producer writes of the next
        inference meanwhile beyond its slack, the cycles of an inference at the II it does not spend busy (at the pace
        of the slowest of it and the nodes before it that keep its pace, `_passes_pace`, or of the reader's reads). A
        producer's own fill is not counted as slack, so a padded conv after another is costed deeper than it needs."""
        found = []
        for i, cost in enumerate(costs):
            if not cost.tail or len(self.in_edges[i]) != 1:
                continue
            e = self.in_edges[i][0]
            p = q = self.edges[e].producer
            if self.nodes[p].ring_words:
                continue
            pace = costs[p].cycles
            while self._passes_pace(q, costs):
                q = self._main[q]
                pace = max(pace, costs[q].cycles)
            busy = max(pace, cost.cycles - cost.tail, 1)
            # dfcc (checked by analyses/fifo_sizing.py): the words written while the reader's tail outlasts the
            # producer's slack at the II, at the producer's pace
            idle = ii - busy
            words = (cost.tail - idle) * self.edges[e].elements / busy
            beats = math.ceil(words / max(1, costs[p].out_lanes) - 1e-9)
            if beats > DEFAULT_FIFO_DEPTH:
                found.append((e, beats))
        return found

    def _passes_pace(self, i: int, costs: tuple[NodeCost, ...]) -> bool:
        """Whether node `i` takes each beat at its consumers' pace: a single-input stage without a fill, not a DRAM
        ring (whose writer never waits on its reader), that takes some cycles (a map, a fork)."""
        return (len(self.in_edges[i]) == 1 and costs[i].fill == 0 and costs[i].cycles > 0
                and not self.nodes[i].ring_words)

    def _held_back(self, i: int, costs: tuple[NodeCost, ...], seen: set[int]) -> int:
        """The cycles an inference takes at the pace of node `i`'s slowest consumer, through those that take each
        beat at their consumers' pace (`_passes_pace`): a join's output has no FIFO beyond the default, so it reads
        its inputs no faster (dfcc: back-pressure through depth-2 streams, as analyses/fifo_sizing.py simulates).
        The nodes whose costs it reads are added to `seen`."""
        seen.update(self._fed[i])
        return max((max(costs[q].cycles, self._held_back(q, costs, seen)) if self._passes_pace(q, costs)
                    else costs[q].cycles for q in self._fed[i]), default=0)

    def _burst_fifo(self, i: int, costs: tuple[NodeCost, ...], converters: dict[int, Converter],
                    bursts: list[tuple[float, float, float]], cycles: float) -> list[tuple[int, int]]:
        """The FIFOs (edge, beats) of node `i`'s inputs that take a burst, the node reading an inference in `cycles`."""
        cost, found = costs[i], []
        for e in self.in_edges[i]:
            edge = self.edges[e]
            words, pace, period = bursts[edge.producer]
            if not words or not cycles or self.nodes[edge.producer].ring_words:
                continue
            # the burst less what the reader takes at its pace while it comes and its fill share (dfcc: the
            # rate mismatch fpgaConvNet's streams assume away; checked by analyses/fifo_sizing.py)
            kept = words * (1 - min(1.0, edge.elements / cycles / pace)) - cost.fill * edge.elements
            conv = converters.get(e)
            if conv is not None and words < edge.elements:
                # a lane converter passes its elements in its cycles, the reader's fill too; a burst its writer's
                # next tile follows (not the inference's last) must not wait on it
                kept = max(kept, rate_limited_burst(words, pace, conv.elements / conv.cycles, period - words / pace))
            beats = math.ceil(kept / max(1, costs[edge.producer].out_lanes))
            if beats > DEFAULT_FIFO_DEPTH:
                found.append((e, beats))
        return found

    def _trace(self, costs: tuple[NodeCost, ...], converters: dict[int, Converter], feed: int = 0,
               last_trace: _Trace | None = None, changed: set[int] | None = None, exact: bool = True) -> _Trace:
        """The first inference through the empty pipeline: each node's first and last output beat, and each
        edge's span at its consumer (the cycles it reads its first and its last beat); its latency, from the first
        input beat to the last output beat, is the latest last output. Given `feed`, the graph inputs' beats come
        over that many cycles at least (an inference each II in the steady state), else as fast as they go out.

        Per node, from its start S (its inputs' first beats arrive), its inputs' last beat Lin and its
        first output F: F = S + max(depth, fill * (Lin - S) + pipeline + first lag), the fill share of an
        input arriving at its producer's pace; its last output L = max(Lin + pipeline + lag, S + cycles,
        F + drain), whichever of its input, its own work or its output rate finishes last (drain: the
        node's own, else one beat out a cycle). A lane converter on an edge is such a stage between its
        two ends. Given the `last_trace` of a design traced at the same `feed`, only the nodes `changed` and those an
        input of which then moves are traced again (`_changed`). Not `exact`: every input arrives evenly (no tile
        bursts, `_arrived`) and a first output follows the fill by `lag` (not `first_lag`), later on chains of tiled
        convs: the trace `_skip_fifos` costs from (see `evaluate`)."""
        # dfcc (checked by analyses/simulation.py): fpgaConvNet's per-layer latency, with a layer's
        # fill read at its input's rate (Venieris & Bouganis, fpgaConvNet, FCCM 2016, sec. 4)
        n = len(costs)
        if last_trace is None:
            first, last, reads = [0.0] * n, [0.0] * n, [(0.0, 0.0)] * len(self.edges)
            burst = [0] * n  # cycles over which a node writes one output pixel's beats (0: unknown)
            tiles: list[tuple[int, float] | None] = [None] * n  # its output's tile bursts (`_arrived`), if any
            walked = range(n)
        else:
            first, last, reads, burst, tiles = (list(figures) for figures in last_trace)
            walked = range(min(changed, default=n), n)
        moved = [last_trace is None] * n  # the nodes whose figures this trace changes
        # the network's lists read once (the search traces ~10^4 designs of ~10^3 nodes)
        in_edges, edges, main, most_out, producers, ins_of = (
            self.in_edges, self.edges, self._main, self._most_out, self._producers, self._ins)
        converter_on = converters.get

        for i in walked:
            if not moved[i] and i not in changed and not any(map(moved.__getitem__, producers[i])):
                continue
            before = first[i], last[i], burst[i], tiles[i]
            cost, ins = costs[i], []
            for e, p, _, _ in ins_of[i]:  # each input's first and last beat here, through its converter if any
                conv = converter_on(e)
                if conv is None:
                    ins.append((first[p], last[p]))
                    continue
                start = first[p] + max(conv.depth, conv.fill * (last[p] - first[p]) + conv.pipeline)
                ins.append((start, max(last[p] + conv.pipeline + conv.tail, first[p] + conv.cycles,
                                       start + conv.elements // conv.lanes_out)))
            bursts_in = None  # the tile bursts its input comes in (one input), a converter's pace at least
            if len(ins) == 1:  # most nodes (the search's inner loop traces every design with a join)
                start, done_in = ins[0]
                bursts_in = tiles[main[i]] if exact else None
                conv = bursts_in and converter_on(in_edges[i][0])
                if conv:
                    bursts_in = _at_pace(bursts_in, conv.cycles)
            else:
                start = max((f for f, _ in ins), default=0.0)
                if cost.preload and len(ins) > 1:  # the other operands are read while the first is on its way
                    start = max(ins[0][0] - cost.preload, max(f for f, _ in ins[1:]))
                done_in = max((l for _, l in ins), default=0.0)
            stage = min(cost.depth, PIPELINED_LOOP_LATENCY)
            to_first, pipe = stage + ((cost.first_lag if exact else 0) or cost.lag), stage + cost.lag
            filled = _arrived(cost.fill, done_in - start, bursts_in)
            first[i] = max(cost.lead, start + max(cost.depth, filled + to_first))
            for e, (f, l) in zip(in_edges[i], ins) if cost.input_fills else ():
                # an input absorbed in its own share first (a matmul's right operand block), at its pace
                first[i] = max(first[i], f + cost.input_fills[edges[e].operand] * (l - f) + to_first)
            burst_in = burst[main[i]] if ins else 0
            if cost.pixel_work and burst_in:
                # input pixels come in bursts, evenly spread from the first one's to the last one's: the first
                # beat of the pixel completing the first window starts the first output pixel's work
                window = start + cost.pixel_fill * (done_in - burst_in - start)
                first[i] = max(first[i], window + cost.pixel_work + min(cost.depth, PIPELINED_LOOP_LATENCY))
            burst[i] = cost.burst or (burst_in if cost.fill == 0 else 0)
            if cost.out_burst:  # a tiled conv stores each tile's outputs back to back, one beat a cycle
                tiles[i] = (-(-most_out[i] // (cost.out_burst * max(1, cost.out_lanes))), float(cost.out_burst))
            else:  # a stage without fill passes them on, each at its own pace at least
                tiles[i] = None if bursts_in is None or cost.fill else _at_pace(bursts_in, cost.cycles)
            # a stage without hardware (cycles 0: a reshape passes its producer's words on) has no output rate
            drain = (cost.drain or most_out[i] // (cost.out_lanes or 1)) if cost.cycles else 0
            last[i] = max(done_in + pipe, start + cost.cycles, first[i] + drain, first[i] + feed if not ins else 0)
            # it reads each input from when it must have that input's fill share (a plain join: its start, all
            # inputs together) to when its last input beat comes or its own pace ends
            end = max(done_in, start + cost.cycles)
            for e, (f, l) in zip(in_edges[i], ins):
                share = cost.input_fills[edges[e].operand] if cost.input_fills else cost.fill
                reads[e] = (max(f, first[i] - to_first - _arrived(share, l - f, bursts_in)), max(end, l))
            moved[i] = (first[i], last[i], burst[i], tiles[i]) != before
        return first, last, reads, burst, tiles


# a module's attribute: its nodes' cost models by cost key, which each network built of it shares (kinds/cost.py
# `describe`); on the module, not in a weak dictionary by module: a model holds its node, so its module
_COST_MODELS = "_dfcc_cost_models"

# Network._trace: each node's first and last output beat, each edge's span at its consumer, each node's output burst
# and its output's tile bursts
_Trace = tuple[list[float], list[float], list[tuple[float, float]], list[int], list[tuple[int, float] | None]]

# Network._burst_fifos: each node's burst, its inputs' burst FIFOs, a join's nodes its consumers' pace was read from
_Bursts = tuple[list[tuple[float, float, float]], list[list[tuple[int, int]]], list[frozenset[int] | None]]


def _arrived(share: float, span: float, bursts: tuple[int, float] | None) -> float:
    """Cycles from an input's first beat until `share` of it has come: evenly over its `span`, or, where its producer
    stores tiles (`bursts`: their count, the cycles each takes), in the burst that completes the share, the bursts
    evenly spread over the span (dfcc, checked by analyses/simulation.py: a tiled conv after another has its first
    tile's input when the other's first tile is stored, not a tile's share of the other's whole span later)."""
    if bursts is None:
        return share * span
    count, cycles = bursts
    if count <= 1:
        return share * min(cycles, span)
    whole = max(1, math.ceil(share * count - 1e-9))  # the bursts that carry the share
    return (whole - 1) * max(0.0, span - cycles) / (count - 1) + (share * count - whole + 1) * min(cycles, span)


def _at_pace(bursts: tuple[int, float], cycles: float) -> tuple[int, float]:
    """Tile `bursts` (their count, the cycles each takes) passed through a stage that spends `cycles` on them all:
    each takes its share of those at least."""
    count, each = bursts
    return count, max(each, cycles / count)


@dataclass(frozen=True, slots=True)
class _Fifos:
    """`Network._fifos`' FIFOs of one design, kept for the next design."""

    key: tuple  # (respect_ir, the URAM and LUT limits its moves were ranked with, or None)
    depths: dict[int, int]  # edge -> depth in beats
    shapes: dict[int, tuple[int, int, str, tuple[int, int, int]]]  # edge -> (width, depth, memory: the IR's or auto,
    # the (BRAM18, URAM, LUT) it takes there)
    taken: tuple[int, int, int]  # (BRAM18, URAM, LUT) of them all in those memories
    ranked: list[tuple]  # the moves out of BRAM of those in auto memory, (rank, edge, ...) sorted (`Network._moves`)


def _in_rule_order(ranked: list[tuple], position: dict[int, int]) -> Iterator[tuple]:
    """`ranked` moves (rank, edge, memory, ...) in the storage rule's order (analyses/fifo_memory.py): by rank, then
    by their FIFO's `position` (in the design's FIFOs), then memory (sorted by edge, so runs of equal rank are sorted
    again)."""
    for _, run in groupby(ranked, key=itemgetter(0)):
        yield from sorted(run, key=lambda move: (position[move[1]], move[2]))


@dataclass(frozen=True, slots=True)
class _Walk:
    """`Network.evaluate`'s figures of one design, node by node in topological order, kept for the next design: its
    nodes before the first whose cost or input converters differ (`_changed`) keep theirs (the search's designs
    mostly differ at a node or two: DenseNet-121's `_fewer_converters` evaluates thousands such)."""

    choices: list[Choice]
    chosen: tuple[NodeCost, ...]  # each node's cost at its choice
    costs: tuple[NodeCost, ...]  # ... paced by a converter widening its input (`_paced`)
    on_edge: dict[int, Converter]  # the converters by edge
    latency: list[int]
    feed: int  # the II the trace feeds the graph inputs over
    trace: _Trace | None  # (with joins only)
    held: list[list[tuple[int, int]]] | None  # each join's skip FIFOs (`_skip_fifos`)
    bursts: _Bursts
    fifos: _Fifos


def _deepest(fifos: Iterable[list[tuple[int, int]]]) -> dict[int, int]:
    """Each edge's depth, the largest of those (edge, depth) asked, node by node (in the order they are first asked)."""
    depths: dict[int, int] = {}
    for found in fifos:
        for e, depth in found:
            if depth > depths.get(e, 0):
                depths[e] = depth
    return depths


def budget(platform, utilisation: float, reserve: dict[str, float] | None = None) -> dict[str, float]:
    """What a design may use of each resource: `utilisation` x the platform's, less what `reserve` keeps out."""
    return {k: utilisation * getattr(platform, k) - (reserve or {}).get(k, 0.0) for k in RESOURCES}


def fifo_memory(depth: int, bits: int, lanes: int, memory: str = "auto") -> tuple[int, int, int]:
    """(BRAM18, URAM, LUT) of a FIFO of `depth` beats of `lanes` elements each in `memory`."""
    return fifo_blocks(bits * max(1, lanes), depth, memory)


def recorded_platform(module: ModuleOp) -> str | None:
    attr = module.attributes.get(PLATFORM_ATTR)
    return attr.data if isinstance(attr, StringAttr) else None
