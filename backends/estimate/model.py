"""The per-node hardware model: what one dataflow node costs at a given folding.

Everything here is built from `dfcc.hardware` formulas; this module only reads the node's
geometry and number formats from the IR and decides which formula applies.

`describe(op)` turns a node into a `NodeModel` once: its folding factors with the dimension each
must divide, its MACs, and a pure function from a folding (a tuple of factors, in `factors` order)
to a `NodeCost`. The DSE calls `NodeModel.cost(folding)` many times; results are cached on the
`NodeModel` (one run, no global cache).

Adding a node type: write `def _my_op(op, bits) -> NodeModel` and decorate it with
`@node_model("dataflow.my_op")`. Node types without a model fall back to `_generic`: a streaming
stage moving max(words in, words out) at `coarse` words per cycle (if the op has a `coarse`
property) with its constant tensor operands in on-chip memory and no DSPs.

Number formats: a `!dataflow.fixed` stream or weights `format` / `acc_format` gives its width;
anything else (f32 before quantization) is costed at the defaults below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ArrayAttr, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from dfcc.dialects.dataflow import (
    MULT_IMPL_ATTR, MULT_IMPLS, WEIGHT_MEMORIES, WEIGHTS_MEMORY_ATTR,
    ConcatOp, ConvOp, FixedType, ForkOp, LinearOp, MapOp, MatmulOp, NodeOp, PadOp, PoolOp, ReduceOp, ReshapeOp,
    ResizeOp, SinkOp, SliceOp, SourceOp, StreamType, TransposeOp, WeightsOp,
)
from dfcc.hardware.cycles import conv_cycles, sliding_window_fill, stage_cycles, streaming_cycles
from dfcc.hardware.dsp import conv_multipliers, macs_per_dsp, multiplier_dsp
from dfcc.hardware.logic import Logic, lut_multiplier, mac_logic, stage_logic
from dfcc.hardware.offchip import SPILL_UNIT_DEPTH, streamed_weight_bits
from dfcc.hardware.memory import bram18, conv_weight_memory, line_buffer, lutram_luts, uram, window_buffer

# Number formats of unquantized (float) values: 16-bit data and weights, 32-bit accumulators.
DEFAULT_DATA_BITS = 16
DEFAULT_WEIGHT_BITS = 16
DEFAULT_ACC_BITS = 32
# dfcc estimate: latency of one HLS-pipelined loop iteration (read, compute, write registers).
STAGE_PIPELINE_CYCLES = 3
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
    independent). `weight_*` is the weight memory alone, in each place it could live.
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
    mult_lut: int = 0  # LUTs its multipliers take when built from fabric instead of DSPs
    weight_sweeps: int = 0  # times per inference the stage reads its whole weight memory
    offchip_bits: int = 0  # bits per inference moved to or from DRAM

    def with_mult(self, impl: str) -> NodeCost:
        """This cost with the multipliers on DSPs (as costed) or in LUTs (`lut`: no DSP left)."""
        if impl == "dsp" or self.mult_lut == 0:
            return self
        if impl == "lut":
            # every DSP of a stage is a multiplier: fabric multipliers free them all
            return _replace(self, dsp=0, lut=self.lut + self.mult_lut)
        raise ValueError(f"unknown multiplier implementation '{impl}'")

    def with_memory(self, memory: str) -> NodeCost:
        """This cost with the weight memory moved from BRAM to `memory` (bram, uram or lutram)."""
        if memory == "bram" or self.weight_width == 0:
            return self
        width, depth = self.weight_width, self.weight_depth
        in_bram = bram18(width, depth)
        if memory == "uram":
            return _replace(self, bram18=self.bram18 - in_bram, uram=self.uram + uram(width, depth))
        if memory == "lutram":
            extra = lutram_luts(width, depth) if in_bram else 0  # tiny memories are LUTRAM already
            return _replace(self, bram18=self.bram18 - in_bram, lut=self.lut + extra)
        if memory == "off_chip":
            saved_lut = 0 if in_bram else lutram_luts(width, depth) if width * depth else 0
            # AutoWS: spilled weights keep a one-unit stream buffer on chip
            return _replace(self, bram18=self.bram18 - in_bram + bram18(width, SPILL_UNIT_DEPTH),
                            lut=self.lut - saved_lut,
                            offchip_bits=self.offchip_bits + streamed_weight_bits(width, depth, self.weight_sweeps))
        raise ValueError(f"unknown memory '{memory}'")


def _replace(cost: NodeCost, **changes) -> NodeCost:
    values = {name: getattr(cost, name) for name in NodeCost.__slots__}
    values.update(changes)
    return NodeCost(**values)


Folding = tuple[int, ...]


@dataclass(eq=False)
class NodeModel:
    """One node's cost as a function of its folding; `factors[i]` must divide `extents[i]`."""

    op: Operation
    name: str
    op_name: str
    factors: tuple[str, ...]
    extents: tuple[int, ...]
    evaluate: Callable[[Folding], NodeCost]
    macs: int = 0
    macs_per_dsp: float = 1.0
    has_weights: bool = False
    _cache: dict = field(default_factory=dict, repr=False)

    def cost(self, folding: Folding, memory: str = "bram", mult: str = "dsp") -> NodeCost:
        key = (folding, memory, mult)
        hit = self._cache.get(key)
        if hit is None:
            if mult != "dsp":
                hit = self.cost(folding, memory).with_mult(mult)
            elif memory == "bram":
                hit = self.evaluate(folding)
            else:
                hit = self.cost(folding).with_memory(memory)
            self._cache[key] = hit
        return hit

    def folding_options(self) -> list[Folding]:
        """Every legal folding: each factor a divisor of its extent."""
        options: list[Folding] = [()]
        for extent in self.extents:
            options = [o + (d,) for o in options for d in divisors(extent)]
        return options

    def ir_folding(self) -> Folding:
        """The folding written on the op (factors absent from the IR are 1)."""
        return tuple(_prop_int(self.op, f) for f in self.factors)

    def ir_memory(self) -> str:
        weights = getattr(self.op, "weights", None)
        if isinstance(weights, SSAValue) and isinstance(weights.owner, WeightsOp) and weights.owner.storage.data == "off_chip":
            return "off_chip"
        attr = self.op.attributes.get(WEIGHTS_MEMORY_ATTR)
        return attr.data if attr is not None and attr.data in WEIGHT_MEMORIES else "bram"

    def ir_mult(self) -> str:
        attr = self.op.attributes.get(MULT_IMPL_ATTR)
        return attr.data if attr is not None and attr.data in MULT_IMPLS else "dsp"


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _prop_int(op: Operation, key: str, default: int = 1) -> int:
    attr = op.properties.get(key) or op.attributes.get(key)
    return default if attr is None else attr.value.data


# ---- number formats

def _fixed_width(attr: Attribute | None, default: int) -> int:
    """Width of a FixedType, the widest of an array of them (per-channel formats), else `default`."""
    if isinstance(attr, FixedType):
        return attr.width.data
    if isinstance(attr, ArrayAttr) and attr.data and all(isinstance(a, FixedType) for a in attr.data):
        return max(a.width.data for a in attr.data)
    return default


def stream_bits(value: SSAValue) -> int:
    """Bits of one element of a stream (16 for float streams until quantized)."""
    return _fixed_width(value.type.element_type, DEFAULT_DATA_BITS)


def weight_bits(value: SSAValue | None) -> int:
    """Bits of one weight: the producing `dataflow.weights` op's `format`, else the default."""
    if value is not None and isinstance(value.owner, WeightsOp):
        return _fixed_width(value.owner.format, DEFAULT_WEIGHT_BITS)
    return DEFAULT_WEIGHT_BITS


def acc_bits(op: Operation) -> int:
    return _fixed_width(op.properties.get("acc_format"), DEFAULT_ACC_BITS)


# ---- registry

_MODELS: dict[str, Callable[[Operation], NodeModel]] = {}


def node_model(op_name: str):
    """Register the model of a node type (decorator); replaces any earlier one."""

    def register(build: Callable[[Operation], NodeModel]):
        _MODELS[op_name] = build
        return build

    return register


def is_node(op: Operation) -> bool:
    """Hardware stages: every dataflow node except weight constants (costed in their consumer)."""
    return isinstance(op, NodeOp) and not isinstance(op, WeightsOp)


def describe(op: Operation) -> NodeModel:
    """The cost model of one node (a registered model, else the generic streaming one)."""
    return _MODELS.get(op.name, _generic)(op)


def node_cost(op: Operation) -> NodeCost:
    """Cost of a node at the folding and weight memory written in the IR."""
    model = describe(op)
    return model.cost(model.ir_folding(), model.ir_memory(), model.ir_mult())


def _name(op: Operation) -> str:
    attr = op.properties.get("name")
    return attr.data if attr is not None else op.name


def _logic_cost(logic: Logic, extra_lut: int = 0) -> tuple[int, int]:
    return logic.lut + extra_lut, logic.ff


def _memory(width: int, depth: int) -> tuple[int, int]:
    """(BRAM18, LUT) of an on-chip array: BRAM18 unless under a BRAM's worth, then LUTRAM."""
    blocks = bram18(width, depth)
    # Xilinx UG574 / fpgaConvNet: arrays below 1024 bits are implemented as LUTRAM
    return blocks, 0 if blocks or width * depth == 0 else lutram_luts(width, depth)


@dataclass(frozen=True, slots=True)
class WindowCost:
    """The sliding-window generator in front of a conv or pool: memories and fill."""

    bram18: int
    lut: int
    fill: int  # cycles before the first window is complete
    fill_fraction: float  # share of the (padded) input read by then


def _sliding_window(h: int, w: int, c: int, kr_span: int, kc_span: int, pads: tuple[int, int, int, int], bits: int,
                    coarse: int, coarse_group: int = 1) -> WindowCost:
    """fpgaConvNet's sliding_window module: line buffer, window registers, fill latency."""
    pt, pb, pl, pr = pads
    l_bram, l_lut = _memory(*line_buffer(c, w, kr_span, bits, coarse, coarse_group, pl, pr))
    x_bram, x_lut = _memory(*window_buffer(c, kr_span, kc_span, bits, coarse, coarse_group))
    fill = sliding_window_fill(w, c, kr_span, kc_span, coarse, coarse_group, pl, pr)
    padded_words = (h + pt + pb) * (w + pl + pr) * c // (coarse * coarse_group) or 1
    return WindowCost(l_bram + x_bram, l_lut + x_lut, fill, min(1.0, (fill + 1) / padded_words))


# ---- convolution and linear

@node_model("dataflow.conv")
def _conv(op: ConvOp) -> NodeModel:
    _, h, w, c = op.input.type.get_shape()
    _, ho, wo, f = op.output.type.get_shape()
    (kr, kc), _, (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
    groups = op.groups.value.data
    # a dilated window spans dilation*(K-1)+1 rows and columns of the input
    kr_span, kc_span = dr * (kr - 1) + 1, dc * (kc - 1) + 1
    d_bits, w_bits, a_bits = stream_bits(op.input), weight_bits(op.weights), acc_bits(op)
    has_bias = op.bias is not None

    def evaluate(folding: Folding) -> NodeCost:
        ci, co, cg, fine = folding
        cycles = conv_cycles(h, w, c, f, kr, kc, ho, wo, ci, co, fine, groups, cg, pt, pb, pl, pr)
        mults = conv_multipliers(ci, co, fine, cg)
        dsp = multiplier_dsp(mults, d_bits, w_bits)
        ww, wd = conv_weight_memory(c, f, kr, kc, w_bits, ci, co, fine, groups, cg)
        w_bram, w_lut = _memory(ww, wd)
        window = _sliding_window(h, w, c, kr_span, kc_span, (pt, pb, pl, pr), d_bits, ci, cg)
        # accumulators (one acc_bits word per filter of each output stream) and biases are shallow
        # arrays read every cycle: distributed RAM, not BRAM (fpgaConvNet accum/bias, UG574 LUTRAM)
        a_bram, a_lut = 0, lutram_luts(a_bits * co * cg, -(-f // (co * cg)))
        b_bram, b_lut = (0, lutram_luts(w_bits * co * cg, -(-f // (co * cg)))) if has_bias else (0, 0)
        logic = mac_logic(mults, d_bits, w_bits, a_bits) + stage_logic(ci * cg * kr * kc, d_bits)
        per_pixel = -(-c // (ci * cg)) * -(-(kr * kc) // fine) * -(-f // (co * groups))
        return NodeCost(
            cycles=cycles, depth=window.fill + per_pixel + STAGE_PIPELINE_CYCLES,
            fill=window.fill_fraction, dsp=dsp,
            bram18=w_bram + window.bram18 + a_bram + b_bram, uram=0,
            lut=logic.lut + w_lut + window.lut + a_lut + b_lut, ff=logic.ff,
            out_lanes=co * cg, weight_width=ww, weight_depth=wd, mult_lut=mults * lut_multiplier(d_bits, w_bits),
            weight_sweeps=ho * wo,
        )

    return NodeModel(
        op, _name(op), op.name, ("coarse_in", "coarse_out", "coarse_group", "fine"),
        (c // groups, f // groups, groups, kr * kc), evaluate,
        macs=ho * wo * f * (c // groups) * kr * kc, macs_per_dsp=macs_per_dsp(d_bits, w_bits), has_weights=True,
    )


@node_model("dataflow.linear")
def _linear(op: LinearOp) -> NodeModel:
    in_shape, out_shape = op.input.type.get_shape(), op.output.type.get_shape()
    c, f = in_shape[-1], out_shape[-1]
    rows = 1
    for d in in_shape[:-1]:
        rows *= d
    d_bits, w_bits, a_bits = stream_bits(op.input), weight_bits(op.weights), acc_bits(op)
    has_bias = op.bias is not None

    def evaluate(folding: Folding) -> NodeCost:
        ci, co = folding
        # a linear layer is a 1x1 convolution over `rows` pixels (fpgaConvNet inner product layer)
        cycles = conv_cycles(rows, 1, c, f, 1, 1, rows, 1, ci, co, 1)
        mults = conv_multipliers(ci, co, 1)
        ww, wd = conv_weight_memory(c, f, 1, 1, w_bits, ci, co, 1)
        w_bram, w_lut = _memory(ww, wd)
        # accumulators and biases in distributed RAM, as for conv
        a_bram, a_lut = 0, lutram_luts(a_bits * co, -(-f // co))
        b_bram, b_lut = (0, lutram_luts(w_bits * co, -(-f // co))) if has_bias else (0, 0)
        logic = mac_logic(mults, d_bits, w_bits, a_bits) + stage_logic(ci, d_bits)
        per_row = -(-c // ci) * -(-f // co)
        return NodeCost(
            cycles=cycles, depth=per_row + STAGE_PIPELINE_CYCLES, fill=1.0 / rows,
            dsp=multiplier_dsp(mults, d_bits, w_bits), bram18=w_bram + a_bram + b_bram, uram=0,
            lut=logic.lut + w_lut + a_lut + b_lut, ff=logic.ff, out_lanes=co, weight_width=ww, weight_depth=wd,
            mult_lut=mults * lut_multiplier(d_bits, w_bits), weight_sweeps=rows,
        )

    return NodeModel(op, _name(op), op.name, ("coarse_in", "coarse_out"), (c, f), evaluate,
                     macs=rows * c * f, macs_per_dsp=macs_per_dsp(d_bits, w_bits), has_weights=True)


# ---- window, reduction and element-wise stages

@node_model("dataflow.pool")
def _pool(op: PoolOp) -> NodeModel:
    _, h, w, c = op.input.type.get_shape()
    _, ho, wo, _ = op.output.type.get_shape()
    (kr, kc), _, (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
    kr_span, kc_span = dr * (kr - 1) + 1, dc * (kc - 1) + 1
    bits = stream_bits(op.input)

    def evaluate(folding: Folding) -> NodeCost:
        (coarse,) = folding
        # fpgaConvNet pooling: a sliding window over the padded input, H*W*C/coarse words in
        cycles = stage_cycles((h + pt + pb) * (w + pl + pr) * -(-c // coarse), 1, ho * wo * -(-c // coarse), 1)
        window = _sliding_window(h, w, c, kr_span, kc_span, (pt, pb, pl, pr), bits, coarse)
        logic = stage_logic(coarse * kr * kc, bits)
        return NodeCost(cycles=int(cycles), depth=window.fill + STAGE_PIPELINE_CYCLES, fill=window.fill_fraction,
                        dsp=0, bram18=window.bram18, uram=0, lut=logic.lut + window.lut, ff=logic.ff,
                        out_lanes=coarse)

    return NodeModel(op, _name(op), op.name, ("coarse",), (c,), evaluate)


@node_model("dataflow.reduce")
def _reduce(op: ReduceOp) -> NodeModel:
    in_shape = op.input.type.get_shape()
    c = in_shape[-1]
    rows = op.input.type.num_elements // c
    kept = op.output.type.num_elements
    bits, a_bits = stream_bits(op.input), acc_bits(op)
    reduces_last = (len(in_shape) - 1) in op.ints_prop("dims")
    mean = op.kind.data == "mean"

    def evaluate(folding: Folding) -> NodeCost:
        (coarse,) = folding
        # fpgaConvNet global pooling / streaming layers: H*W*C/coarse cycles
        cycles = streaming_cycles(rows, 1, c, coarse)
        # one accumulator per kept element, coarse of them per word
        m_bram, m_lut = _memory(a_bits * coarse, -(-kept // coarse))
        logic = stage_logic(coarse, a_bits)
        dsp = multiplier_dsp(coarse, a_bits, bits) if mean else 0  # the 1/N scaling
        # the first output needs every input it reduces: all of them unless only C is reduced
        fill = 1.0 / rows if reduces_last else 1.0
        return NodeCost(cycles=cycles, depth=int(cycles * fill) + STAGE_PIPELINE_CYCLES, fill=fill, dsp=dsp,
                        bram18=m_bram, uram=0, lut=logic.lut + m_lut, ff=logic.ff, out_lanes=1 if reduces_last else coarse,
                        mult_lut=coarse * lut_multiplier(a_bits, bits) if mean else 0)

    return NodeModel(op, _name(op), op.name, ("coarse",), (c,), evaluate)


_MUL_OPS = {"arith.mulf", "arith.muli", "arith.divf", "arith.divsi", "arith.divui"}
_DIV_OPS = {"arith.divf", "arith.divsi", "arith.divui"}  # on DSPs only (no fabric multiplier model)
_FREE_OPS = {"arith.constant", "dataflow.yield"}


@node_model("dataflow.map")
def _map(op: MapOp) -> NodeModel:
    out = op.output.type
    c = out.get_shape()[-1]
    rows = out.num_elements // c
    bits = stream_bits(op.output)
    body = [o for o in op.body.block.ops if o.name not in _FREE_OPS]
    mults = sum(o.name in _MUL_OPS for o in body)
    divs = sum(o.name in _DIV_OPS for o in body)
    transcendental = sum(o.name.startswith("math.") for o in body)
    simple = len(body) - mults - transcendental
    param_bits = [weight_bits(p) for p in op.params]
    n_inputs = len(op.inputs)

    def evaluate(folding: Folding) -> NodeCost:
        (coarse,) = folding
        # fpgaConvNet element-wise layers: H*W*C/coarse cycles
        cycles = streaming_cycles(rows, 1, c, coarse)
        dsp = multiplier_dsp(mults * coarse, bits, bits)
        lut = coarse * bits * (simple * LUT_PER_SCALAR_OP_BIT + transcendental * LUT_PER_TRANSCENDENTAL_BIT)
        logic = stage_logic(coarse * n_inputs, bits)
        p_bram = p_lut = 0
        for param, pbits in zip(op.params, param_bits):
            words = _tensor_elements(param)
            blocks, luts = _memory(pbits * coarse, -(-words // coarse))
            p_bram, p_lut = p_bram + blocks, p_lut + luts
        # fabric option only when every DSP is a multiplication (a division stays on DSPs)
        mult_lut = 0 if divs else mults * coarse * lut_multiplier(bits, bits)
        return NodeCost(cycles=cycles, depth=STAGE_PIPELINE_CYCLES, fill=0.0, dsp=dsp, bram18=p_bram, uram=0,
                        lut=logic.lut + lut + p_lut, ff=logic.ff + coarse * bits * len(body), out_lanes=coarse,
                        mult_lut=mult_lut)

    return NodeModel(op, _name(op), op.name, ("coarse",), (c,), evaluate)


@node_model("dataflow.fork")
def _fork(op: ForkOp) -> NodeModel:
    shape = op.input.type.get_shape()
    c = shape[-1]
    rows = op.input.type.num_elements // c
    bits = stream_bits(op.input)
    outs = len(op.outputs)

    def evaluate(folding: Folding) -> NodeCost:
        (coarse,) = folding
        # fpgaConvNet fork: H*W*C/coarse cycles
        logic = stage_logic(coarse * outs, bits)
        return NodeCost(cycles=streaming_cycles(rows, 1, c, coarse), depth=STAGE_PIPELINE_CYCLES, fill=0.0, dsp=0,
                        bram18=0, uram=0, lut=logic.lut, ff=logic.ff, out_lanes=coarse)

    return NodeModel(op, _name(op), op.name, ("coarse",), (c,), evaluate)


def _pixel_port(op: Operation, stream: StreamType) -> NodeModel:
    """Graph input/output: moves one pixel (all channels of a position) per cycle over AXI."""
    shape = stream.get_shape()
    c = shape[-1]
    bits = _fixed_width(stream.element_type, DEFAULT_DATA_BITS)

    def evaluate(folding: Folding) -> NodeCost:
        # dfcc: a graph port is as wide as one pixel (C words), so H*W cycles
        cycles = streaming_cycles(stream.num_elements // c, 1, c, c)
        logic = stage_logic(c, bits)
        # fpgaConvNet: graph inputs and outputs are DMA transfers from and to DRAM
        return NodeCost(cycles=cycles, depth=STAGE_PIPELINE_CYCLES, fill=0.0, dsp=0, bram18=0, uram=0,
                        lut=logic.lut, ff=logic.ff, out_lanes=c, offchip_bits=stream.num_elements * bits)

    return NodeModel(op, _name(op), op.name, (), (), evaluate)


@node_model("dataflow.source")
def _source(op: SourceOp) -> NodeModel:
    return _pixel_port(op, op.output.type)


@node_model("dataflow.sink")
def _sink(op: SinkOp) -> NodeModel:
    return _pixel_port(op, op.input.type)


@node_model("dataflow.reshape")
def _reshape(op: ReshapeOp) -> NodeModel:
    # same elements in the same order: wires, no stage (dfcc)
    zero = NodeCost(cycles=0, depth=0, fill=0.0, dsp=0, bram18=0, uram=0, lut=0, ff=0, out_lanes=1)
    return NodeModel(op, _name(op), op.name, (), (), lambda folding: zero)


@node_model("dataflow.transpose")
def _transpose(op: TransposeOp) -> NodeModel:
    elements = op.input.type.num_elements
    bits = stream_bits(op.input)

    def evaluate(folding: Folding) -> NodeCost:
        # a reorder buffer holds the whole tensor, one word in and out per cycle (double-buffered
        # so the next inference can fill while this one drains)
        blocks, luts = _memory(bits, elements)
        logic = stage_logic(1, bits)
        return NodeCost(cycles=elements, depth=elements + STAGE_PIPELINE_CYCLES, fill=1.0, dsp=0, bram18=2 * blocks,
                        uram=0, lut=logic.lut + 2 * luts, ff=logic.ff, out_lanes=1)

    return NodeModel(op, _name(op), op.name, (), (), evaluate)


@node_model("dataflow.matmul")
def _matmul(op: MatmulOp) -> NodeModel:
    k, n = op.rhs.type.get_shape()[-2:]
    rows = op.lhs.type.num_elements // k  # batch x M rows of the left operand
    batch = op.rhs.type.num_elements // (k * n)
    l_bits, r_bits, a_bits = stream_bits(op.lhs), stream_bits(op.rhs), acc_bits(op)

    def evaluate(folding: Folding) -> NodeCost:
        ci, co = folding
        # each left row is a 1x1 convolution with the buffered right operand as weights (fpgaConvNet
        # inner product): rows*K*N/(ci*co) compute cycles, bounded below by reading both operands
        compute = conv_cycles(rows, 1, k, n, 1, 1, rows, 1, ci, co, 1)
        cycles = max(compute, batch * k * n)  # the right operand arrives one word per cycle
        mults = conv_multipliers(ci, co, 1)
        # MatmulOp.buffer_words(): K x N words of the right operand, double-buffered across batch
        # entries, banked ci x co wide like conv weights (fpgaConvNet weights memory)
        ww, wd = conv_weight_memory(k, n, 1, 1, r_bits, ci, co, 1)
        m_bram, m_lut = _memory(ww, 2 * wd)
        acc_lut = lutram_luts(a_bits * co, -(-n // co))
        logic = mac_logic(mults, l_bits, r_bits, a_bits) + stage_logic(ci, l_bits)
        return NodeCost(
            cycles=cycles, depth=k * n + STAGE_PIPELINE_CYCLES, fill=1.0 / max(rows // batch, 1),
            dsp=multiplier_dsp(mults, l_bits, r_bits), bram18=m_bram, uram=0, lut=logic.lut + m_lut + acc_lut,
            ff=logic.ff, out_lanes=co, mult_lut=mults * lut_multiplier(l_bits, r_bits),
        )

    return NodeModel(op, _name(op), op.name, ("coarse_in", "coarse_out"), (k, n), evaluate,
                     macs=rows * k * n, macs_per_dsp=macs_per_dsp(l_bits, r_bits))


def _buffered_stage(op: Operation, words_in: int, words_out: int, buffer_words: int, bits: int) -> NodeModel:
    """A one-word-per-cycle data-movement stage holding `buffer_words` (the op's buffer_words())."""

    def evaluate(folding: Folding) -> NodeCost:
        # fpgaConvNet streaming layers with coarse = 1: max(words in, words out) cycles
        cycles = int(stage_cycles(words_in, 1, words_out, 1))
        blocks, luts = _memory(bits, buffer_words)
        logic = stage_logic(1, bits)
        return NodeCost(cycles=cycles, depth=buffer_words + STAGE_PIPELINE_CYCLES,
                        fill=min(1.0, buffer_words / max(words_in, 1)), dsp=0, bram18=blocks, uram=0,
                        lut=logic.lut + luts, ff=logic.ff, out_lanes=1)

    return NodeModel(op, _name(op), op.name, (), (), evaluate)


@node_model("dataflow.concat")
def _concat(op: ConcatOp) -> NodeModel:
    words = op.output.type.num_elements
    # an outer-axis concat waits for the earlier inputs: buffer_words() of them (channel concat: none)
    return _buffered_stage(op, words, words, op.buffer_words(), stream_bits(op.output))


@node_model("dataflow.slice")
def _slice(op: SliceOp) -> NodeModel:
    # reads every input word, forwards the kept ones; no buffer
    return _buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, 0, stream_bits(op.input))


@node_model("dataflow.pad")
def _pad(op: PadOp) -> NodeModel:
    return _buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, op.buffer_words(),
                           stream_bits(op.input))


@node_model("dataflow.resize")
def _resize(op: ResizeOp) -> NodeModel:
    return _buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, op.buffer_words(),
                           stream_bits(op.input))


def _generic(op: Operation) -> NodeModel:
    """Any other node: a streaming stage, max(words in, words out)/coarse cycles, its tensors on chip.

    `coarse` (if the op has that property) must divide the last dim of its first output stream.
    No DSPs; constant tensor operands held in BRAM at 16 bits (or their format).
    """
    ins = [v for v in op.operands if isinstance(v.type, StreamType)]
    outs = [v for v in op.results if isinstance(v.type, StreamType)]
    consts = [v for v in op.operands if isinstance(v.type, TensorType)]
    words_in = sum(v.type.num_elements for v in ins)
    words_out = sum(v.type.num_elements for v in outs)
    ref = (outs or ins)
    c = ref[0].type.get_shape()[-1] if ref else 1
    bits = stream_bits(ref[0]) if ref else DEFAULT_DATA_BITS
    foldable = "coarse" in type(op).__dict__ or "coarse" in op.properties
    const_bits = sum(_tensor_elements(v) * weight_bits(v) for v in consts)

    def evaluate(folding: Folding) -> NodeCost:
        coarse = folding[0] if folding else 1
        # fpgaConvNet streaming layers: words / coarse, reading and writing in parallel
        cycles = int(stage_cycles(words_in, coarse, words_out, coarse)) if (words_in or words_out) else 0
        blocks, luts = _memory(DEFAULT_WEIGHT_BITS * coarse, -(-const_bits // (DEFAULT_WEIGHT_BITS * coarse)))
        logic = stage_logic(coarse * max(1, len(ins)), bits)
        return NodeCost(cycles=cycles, depth=STAGE_PIPELINE_CYCLES, fill=0.0, dsp=0, bram18=blocks, uram=0,
                        lut=logic.lut + luts, ff=logic.ff, out_lanes=coarse)

    factors, extents = (("coarse",), (c,)) if foldable else ((), ())
    return NodeModel(op, _name(op), op.name, factors, extents, evaluate)


def _tensor_elements(value: SSAValue) -> int:
    count = 1
    for d in value.type.get_shape():
        count *= d
    return count
