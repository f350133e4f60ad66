"""A FIFO held in off-chip memory: a skip connection evicted to DRAM (SMOF, SATAY)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_attr, stream_type_of
from dfcc.hardware.cycles import streaming_cycles
from dfcc.hardware.logic import Logic, stage_logic
from dfcc.hardware.memory import fifo_blocks
from dfcc.hardware.offchip import DDR_BURST, DRAM_LATENCY_CYCLES, evicted_stream_bits, maxi_adapter, ring_bursts
from dfcc.kinds.cost import STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, folding_of, node_label, stream_bits
from dfcc.kinds.hls_types import prod
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


RING_PORTS = 2  # the writer's and the reader's m_axi ports (emit_hls): their bursts do not share a port
# inferences a ring evicting a skip holds (passes/spill.py evict): a join reads an SE block's frame after its squeeze,
# a residual add after the block's tiled convs, up to 3.6 inferences after the fork writes them (MobileNetV3-Large on
# a ZCU102); DRAM has room (4 x a 112x112x64 16-bit map: 6.4 MB of a board's GBs) and each holds the ring's burst
# tokens only, a bit a burst (ring_tokens); what a skip holds beyond waits on chip in front of the writer
RING_INFERENCES = 4


def ring_tokens(elements: int, capacity: int, lanes: int) -> tuple[int, int, int]:
    """(beats a token stands for, BRAM18, LUT) of the token FIFO of a DRAM ring of `capacity` words passing `elements`
    words an inference in beats of `lanes` (ddr.h: a bit a token, as deep as hardware/offchip.py ring_bursts makes it)."""
    span, tokens = ring_bursts(elements // lanes, capacity // elements)
    if tokens < 1:
        return span, 0, 0
    blocks, _, luts = fifo_blocks(1, tokens)
    return span, blocks, luts


def ring_adapters(lanes: int, bits: int) -> tuple[int, Logic]:
    """(BRAM18, logic) of the m_axi adapters of a DRAM ring moving `lanes` words of `bits` bits a beat."""
    blocks, logic = maxi_adapter(lanes * bits)
    return RING_PORTS * blocks, Logic(RING_PORTS * logic.lut, RING_PORTS * logic.ff)


@dataclass
class DramBuffer:
    """An array in off-chip memory the top function reaches through m_axi ports (one per pointer in `ports`)."""

    name: str
    elem: str  # C++ type of one word
    words: int
    ports: tuple[str, ...]
    burst: int  # beats per burst on its ports
    image: tuple[bytes, ...] | None = None  # per port, its contents as the host loads them (streamed weights)
    layout: dict | None = None  # what the image holds and how (the weight image's layout file)


@irdl_op_definition
class DdrFifoOp(NodeOp):
    """Passes its stream through a ring buffer of `capacity` words in DRAM, whole inferences: a writer stage
    stores every word, a reader stage reads them back in order. A long skip connection thus waits off chip instead of
    in a BRAM FIFO; the values are unchanged (semantics: identity).

    Folding: `coarse` channel lanes per beat.
    """

    name = "dataflow.ddr_fifo"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    capacity = prop_def(IntegerAttr)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, capacity: int, name: str):
        super().__init__(operands=[input], result_types=[input.type.with_depth(2)],
                         properties={"name": StringAttr(name), "capacity": int_attr(capacity)})

    def verify_node(self) -> None:
        in_type, out_type = stream_type_of(self.input, "ddr_fifo input"), stream_type_of(self.output, "ddr_fifo output")
        if in_type.get_shape() != out_type.get_shape() or in_type.element_type != out_type.element_type:
            raise VerifyException(f"ddr_fifo '{self.node_name.data}': output {out_type} must carry the input's "
                                  f"shape and numbers {in_type}")
        words = in_type.num_elements
        if not 1 <= self.capacity.value.data or self.capacity.value.data % words:
            raise VerifyException(f"ddr_fifo '{self.node_name.data}': capacity must be whole inferences of "
                                  f"{words} words")

    def inferences(self) -> int:
        """The whole inferences its ring holds (the verifier asks whole ones): the cost, the emitter and the schedule
        read ddr.h's spans and tokens off them (hardware/offchip.py ring_bursts)."""
        return self.capacity.value.data // self.input.type.num_elements

    def order_problem(self) -> str | None:
        """Each beat passed on as it is: any order, the same on every stream."""
        return self.same_order_problem()

    def folding_extents(self) -> dict[str, int]:
        """Channel lanes: the last dim (one beat carries `coarse` channels of a pixel)."""
        return {"coarse": self.input.type.get_shape()[-1]}


@register
class DdrFifo(FixedIsFloatThenCast, NodeKind):
    op = DdrFifoOp
    hls_headers = ("ddr.h",)

    def cost(self, op: DdrFifoOp) -> NodeModel:
        shape = op.input.type.get_shape()
        c = shape[-1]
        rows = op.input.type.num_elements // c
        bits = stream_bits(op.input)
        moved = evicted_stream_bits(op.input.type.num_elements, bits)

        def evaluate(folding: Folding) -> NodeCost:
            (coarse,) = folding
            # fpgaConvNet streaming layers: H*W*C/coarse cycles; the writer and the reader each move a beat per cycle
            adapters, adapter_logic = ring_adapters(coarse, bits)
            _, token_bram18, token_lut = ring_tokens(op.input.type.num_elements, op.capacity.value.data, coarse)
            logic = stage_logic(coarse, bits) + stage_logic(coarse, bits) + adapter_logic
            return NodeCost(cycles=streaming_cycles(rows, 1, c, coarse),
                            depth=DRAM_LATENCY_CYCLES + 2 * STAGE_PIPELINE_CYCLES, fill=0.0, dsp=0,
                            bram18=adapters + token_bram18, uram=0, lut=logic.lut + token_lut, ff=logic.ff,
                            out_lanes=coarse, offchip_bits=moved)

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate, elastic=True,
                         ring_words=op.capacity.value.data)

    def run_float(self, op: DdrFifoOp, args):
        return (args[0],)  # the words come back from DRAM unchanged

    def stream_lanes(self, op: DdrFifoOp, folding=None) -> tuple[int, int]:
        coarse = (op.folding() if folding is None else folding)["coarse"]
        return coarse, coarse

    def emit_hls(self, em, op: DdrFifoOp) -> None:
        """A writer and a reader stage over a DRAM ring buffer (ddr.h), on two m_axi ports of the top."""
        name = em.stage(op)
        lanes, _ = self.stream_lanes(op)
        x = em.read_stream(op.input, lanes, name)
        out = em.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
        em.define(op.output, out)
        beats = prod(op.input.type.get_shape()) // lanes
        inferences = op.inferences()
        span, tokens = ring_bursts(beats, inferences)
        if tokens < 1:
            raise em.error(op, f"a DRAM ring needs at least 3 beats, this one has {beats}; keep this stream on chip")
        bursts = em.temp_stream(f"{name}_bursts", "bool", 1)
        bursts.depth = tokens  # the writer waits before it would overwrite a span not yet read (ring_bursts)
        ring = DramBuffer(em.unique(f"ddr_{name}"), f"dfcc::vec<{x.elem}, {lanes}>", inferences * beats,
                          (em.unique(f"{name}_wr"), em.unique(f"{name}_rd")), min(span, DDR_BURST))
        ring_id = len(em.dram)  # each ring keeps its own place (ddr.h's static counters)
        em.dram.append(ring)
        template = f"{beats}, {span}, {inferences}, {ring_id}"
        em.calls.append(f"dfcc::ddr_write<{template}>({x.name}, {ring.ports[0]}, {bursts.name});  // {name}")
        em.calls.append(f"dfcc::ddr_read<{template}>({ring.ports[1]}, {bursts.name}, {out.name});  // {name}")
