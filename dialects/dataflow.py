"""The dataflow dialect: a network as a graph of streaming hardware stages.

Every op (a *node*) is one pipeline stage of a layer-pipelined accelerator; every SSA value of
`!dataflow.stream` type is a FIFO between two stages. Streams carry one inference's tensor in
*stream order* (channels last for images: N x H x W x C), the order in which hardware moves it.
All decisions passes take (folding, number formats, storage, FIFO depth) are attributes here, so
the IR alone describes the accelerator.

This module holds the dialect's types and the `NodeOp` base; the ops themselves, one per node kind,
live in `dfcc.kinds`, which also assembles the `Dataflow` dialect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xdsl.dialects.builtin import (
    ArrayAttr, DenseArrayBase, Float32Type, Float64Type, IntAttr, IntegerAttr, IntegerType, StringAttr, TensorType,
    i64,
)
from xdsl.ir import Attribute, Operation, ParametrizedAttribute, TypeAttribute, SSAValue
from xdsl.irdl import IRDLOperation, ParsePropInAttrDict, irdl_attr_definition, prop_def
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import VerifyException

# Hardware decisions explore records as discardable attributes (read by estimate and HLS alike).
PLATFORM_ATTR = "dataflow.platform"  # on the module: the board the design is sized for
# on the module: the design its stream depths were sized for by simulation (analyses/sized_depths.py), which
# the estimate then takes as they are
SIZED_ATTR = "dataflow.fifos_sized"
WEIGHTS_MEMORY_ATTR = "dataflow.weights_memory"  # on a node: where its weights live, one of WEIGHT_MEMORIES
WEIGHT_MEMORIES = ("bram", "uram", "lutram", "off_chip")
# on a node: percent of its weight memory's words kept on chip (in `weights_memory`); the rest streams from
# DRAM (AutoWS partial spill). Absent means all of it (100); `weights_memory = off_chip` means none (0).
WEIGHTS_ON_CHIP_ATTR = "dataflow.weights_on_chip"
MULT_IMPL_ATTR = "dataflow.mult_impl"  # on a node: what builds its multipliers, one of MULT_IMPLS
MULT_IMPLS = ("dsp", "lut")
# on a node with mult_impl = "lut" whose MAC kernel splits its lanes (NodeOp.splits_multipliers): percent (1..99)
# of its parallel multipliers kept on DSPs, the rest in fabric. Absent: all of them in fabric.
DSP_SHARE_ATTR = "dataflow.dsp_share"
# on a conv with weight-stationary tiles (folding factor `tile` > 1): which of its tile memories (kinds/conv.py
# `tile_memories`) live in LUTRAM whatever their size, one of TILE_LUTRAMS: its sums, or all (its sums and kept
# outputs). Absent: each in LUTRAM under a BRAM's worth, else in BRAM (kinds/cost.py `lane_ram`).
TILE_LUTRAM_ATTR = "dataflow.tile_lutram"
TILE_LUTRAMS = ("sums", "all")

# a stream's FIFO memory (StreamType `memory`): `auto` leaves it to Vitis HLS (shift registers or LUTRAM when
# small, else BRAM); uram and lutram bind it there (`bind_storage type=fifo impl=...`, UG1399)
FIFO_MEMORIES = ("auto", "uram", "lutram")

MAX_FIXED_WIDTH = 64  # codes are int64 in the CPU reference
MAX_INT_BITS = 64  # ap_fixed takes integer bits beyond the width (fixed<4, 6>), but fixed<8, 70> aborts csim
MAX_FIFO_DEPTH = 2**24  # 16 M words: beyond any on-chip memory of the supported boards (platforms/*.json)

ROUNDING_MODES = ("trn", "rnd", "rnd_conv")
OVERFLOW_MODES = ("wrap", "sat")


@irdl_attr_definition
class FixedType(ParametrizedAttribute, TypeAttribute):
    """A fixed-point number `ap_fixed<width, int_bits>` (value = integer / 2^(width - int_bits)).

    Syntax `!dataflow.fixed<16, 6>`; optional keywords `unsigned`, a rounding mode (`trn` truncates
    toward -inf, `rnd` rounds half up, `rnd_conv` rounds half to even) and an overflow mode (`wrap`,
    `sat`). The defaults (signed, trn, wrap) are those of Vitis HLS's `ap_fixed`.
    """

    name = "dataflow.fixed"

    width: IntAttr
    int_bits: IntAttr
    signed: IntAttr
    rounding: StringAttr
    overflow: StringAttr

    def __init__(self, width: int, int_bits: int, signed: bool = True, rounding: str = "trn", overflow: str = "wrap"):
        super().__init__(IntAttr(width), IntAttr(int_bits), IntAttr(int(signed)), StringAttr(rounding), StringAttr(overflow))

    @property
    def frac_bits(self) -> int:
        return self.width.data - self.int_bits.data

    @property
    def is_signed(self) -> bool:
        return bool(self.signed.data)

    def verify(self) -> None:
        if not 1 <= self.width.data <= MAX_FIXED_WIDTH:
            raise VerifyException(f"fixed-point width must be in 1..{MAX_FIXED_WIDTH}, got {self.width.data}")
        if not -MAX_INT_BITS <= self.int_bits.data <= MAX_INT_BITS:
            raise VerifyException(f"fixed<{self.width.data}, {self.int_bits.data}>: integer bits must be in "
                                  f"-{MAX_INT_BITS}..{MAX_INT_BITS}")
        if self.rounding.data not in ROUNDING_MODES:
            raise VerifyException(f"rounding mode must be one of {ROUNDING_MODES}, got '{self.rounding.data}'")
        if self.overflow.data not in OVERFLOW_MODES:
            raise VerifyException(f"overflow mode must be one of {OVERFLOW_MODES}, got '{self.overflow.data}'")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            width = parser.parse_integer(allow_boolean=False)
            parser.parse_punctuation(",")
            int_bits = parser.parse_integer(allow_boolean=False)
            signed, rounding, overflow = 1, "trn", "wrap"
            while parser.parse_optional_punctuation(",") is not None:
                word = parser.parse_identifier()
                if word in ("signed", "unsigned"):
                    signed = int(word == "signed")
                elif word in ROUNDING_MODES:
                    rounding = word
                elif word in OVERFLOW_MODES:
                    overflow = word
                else:
                    parser.raise_error(
                        f"unknown fixed-point keyword '{word}' (expected signed, unsigned, "
                        f"{', '.join(ROUNDING_MODES)}, {', '.join(OVERFLOW_MODES)})"
                    )
        return (IntAttr(width), IntAttr(int_bits), IntAttr(signed), StringAttr(rounding), StringAttr(overflow))

    def print_parameters(self, printer: Printer) -> None:
        words = [str(self.width.data), str(self.int_bits.data)]
        if not self.is_signed:
            words.append("unsigned")
        if self.rounding.data != "trn":
            words.append(self.rounding.data)
        if self.overflow.data != "wrap":
            words.append(self.overflow.data)
        printer.print_string("<" + ", ".join(words) + ">")


@irdl_attr_definition
class StreamType(ParametrizedAttribute, TypeAttribute):
    """A FIFO carrying one inference's tensor of `shape` (stream order) in `element_type` numbers.

    Syntax `!dataflow.stream<1x32x32x3xf32>`; a FIFO deeper than the default 2 words prints its
    depth: `!dataflow.stream<1x8x8x16xf32, depth 512>`, and one bound to a memory (one of FIFO_MEMORIES
    but `auto`) that memory: `!dataflow.stream<1x8x8x16xf32, depth 512, uram>`.

    `depth` is in beats: words of the stream as built (one `dfcc::vec` of its producer's lanes, one
    hls::stream element, so the HLS STREAM pragma's depth). The estimate's FIFO memory, the
    simulation and FIFO sizing all count in beats. `memory` is where the FIFO lives, which the estimate
    costs (hardware/memory.py `fifo_blocks`) and the HLS design binds.

    `tile` and `block` are its order: pixel-major (tile 1, the default) or, between weight-stationary convs,
    tile-major: `!dataflow.stream<1x8x8x16xf32, tile 4 block 8>` moves, for each tile of 4 consecutive pixels,
    channels 0..7 of its pixels one after the other, then channels 8..15, ... (the last tile the pixels left).
    The element sequence is the order's whatever the beats' lanes; which nodes read or write such a stream is
    each node's rule (`NodeOp.order_problem`).
    """

    name = "dataflow.stream"

    shape: ArrayAttr[IntAttr]
    element_type: Attribute
    depth: IntAttr
    memory: StringAttr
    tile: IntAttr
    block: IntAttr

    def __init__(self, shape: Sequence[int], element_type: Attribute, depth: int = 2, memory: str = "auto",
                 tile: int = 1, block: int = 0):
        super().__init__(ArrayAttr([IntAttr(d) for d in shape]), element_type, IntAttr(depth), StringAttr(memory),
                         IntAttr(tile), IntAttr(block))

    def get_shape(self) -> tuple[int, ...]:
        return tuple(d.data for d in self.shape.data)

    @property
    def num_elements(self) -> int:
        count = 1
        for d in self.get_shape():
            count *= d
        return count

    @property
    def order(self) -> tuple[int, int] | None:
        """(pixels a tile, channels a block) of a tile-major stream; None for pixel-major."""
        return (self.tile.data, self.block.data) if self.tile.data > 1 else None

    def with_element_type(self, element_type: Attribute) -> StreamType:
        return StreamType(self.get_shape(), element_type, self.depth.data, self.memory.data, *self._order_params())

    def with_depth(self, depth: int) -> StreamType:
        return StreamType(self.get_shape(), self.element_type, depth, self.memory.data, *self._order_params())

    def with_memory(self, memory: str) -> StreamType:
        return StreamType(self.get_shape(), self.element_type, self.depth.data, memory, *self._order_params())

    def with_order(self, order: tuple[int, int] | None) -> StreamType:
        """The same FIFO in tile-major `order` (tile, block), or pixel-major (None)."""
        return StreamType(self.get_shape(), self.element_type, self.depth.data, self.memory.data, *(order or (1, 0)))

    def _order_params(self) -> tuple[int, int]:
        return self.tile.data, self.block.data

    def verify(self) -> None:
        if any(d.data <= 0 for d in self.shape.data):
            raise VerifyException(f"stream dimensions must be static and positive, got {self.get_shape()}")
        if not 1 <= self.depth.data <= MAX_FIFO_DEPTH:
            raise VerifyException(f"stream depth must be in 1..{MAX_FIFO_DEPTH} (2^24), got {self.depth.data}")
        if self.memory.data not in FIFO_MEMORIES:
            raise VerifyException(f"stream memory must be one of {', '.join(FIFO_MEMORIES)}, got '{self.memory.data}'")
        if not isinstance(self.element_type, Float32Type | Float64Type | IntegerType | FixedType):
            raise VerifyException(f"stream elements must be f32, f64, an integer or !dataflow.fixed, got {self.element_type}")
        tile, block, shape = self.tile.data, self.block.data, self.get_shape()
        if tile == 1 and block == 0:
            return
        if tile < 2 or len(shape) != 4 or not 1 <= block <= shape[3] or shape[3] % block:
            raise VerifyException(f"a tile-major stream needs tile >= 2 pixels and a block dividing the channels of "
                                  f"an N x H x W x C stream, got tile {tile} block {block} on {shape}")
        if tile > shape[0] * shape[1] * shape[2]:
            raise VerifyException(f"stream tile {tile} exceeds its {shape[0] * shape[1] * shape[2]} pixels")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            shape, element_type = parser.parse_ranked_shape()
            depth, memory, tile, block = 2, "auto", 1, 0
            while parser.parse_optional_punctuation(",") is not None:
                if parser.parse_optional_keyword("depth") is not None:
                    depth = parser.parse_integer(allow_boolean=False, allow_negative=False)
                elif parser.parse_optional_keyword("tile") is not None:
                    tile = parser.parse_integer(allow_boolean=False, allow_negative=False)
                    parser.parse_keyword("block")
                    block = parser.parse_integer(allow_boolean=False, allow_negative=False)
                else:
                    memory = parser.parse_identifier(f" (a stream's depth N, tile R block B, or memory: "
                                                     f"{', '.join(FIFO_MEMORIES)})")
        return (ArrayAttr([IntAttr(d) for d in shape]), element_type, IntAttr(depth), StringAttr(memory),
                IntAttr(tile), IntAttr(block))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<" + "".join(f"{d}x" for d in self.get_shape()))
        printer.print_attribute(self.element_type)
        if self.depth.data != 2:
            printer.print_string(f", depth {self.depth.data}")
        if self.memory.data != "auto":
            printer.print_string(f", {self.memory.data}")
        if self.order is not None:
            printer.print_string(f", tile {self.tile.data} block {self.block.data}")
        printer.print_string(">")


def int_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


def int_values(attr: DenseArrayBase) -> tuple[int, ...]:
    """The values of an integer array attribute, unpacked once and kept on it: an attribute is immutable (a pass
    changing a property sets a new one), and the cost model reads a window's geometry ~10^6 times in a DenseNet-121
    search (unpacking them each time was a twelfth of its CPU seconds)."""
    values = attr.__dict__.get(_VALUES)
    if values is None:
        values = attr.get_values()
        object.__setattr__(attr, _VALUES, values)  # not a field: equality, hashing and printing never see it
    return values


_VALUES = "_dfcc_values"  # where `int_values` keeps an array attribute's values


def int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(value, i64)


def verify_perm(perm: Sequence[int], shape: Sequence[int], permuted: Sequence[int], what: str) -> None:
    """`permuted` must be `shape` reordered by `perm` (dim i of `permuted` is dim perm[i] of `shape`)."""
    if sorted(perm) != list(range(len(shape))):
        raise VerifyException(f"perm {tuple(perm)} is not a permutation of {len(shape)} dims")
    if tuple(shape[p] for p in perm) != tuple(permuted):
        raise VerifyException(f"{what} shape {tuple(permuted)} is not {tuple(shape)} permuted by {tuple(perm)}")


_NODE_FORMAT = "operands attr-dict `:` functional-type(operands, results)"


class NodeOp(IRDLOperation):
    """Base of every hardware stage: a unique `name` used by reports, overrides and the HLS code."""

    node_name = prop_def(StringAttr, prop_name="name")

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = _NODE_FORMAT

    def int_prop(self, key: str, default: int = 1) -> int:
        attr = self.properties.get(key)
        return default if attr is None else attr.value.data

    def ints_prop(self, key: str) -> tuple[int, ...]:
        return int_values(self.properties[key])

    def stream_operands(self) -> list[SSAValue]:
        return [o for o in self.operands if isinstance(o.type, StreamType)]

    def folding_extents(self) -> dict[str, int]:
        """Each folding factor this node takes, with the extent it splits (so must divide, unless it is one
        of `partial_factors`); none by default.

        The one statement of a kind's folding: the verifier, the cost model's options and the HLS
        lanes all read it.
        """
        return {}

    def partial_factors(self) -> frozenset[str]:
        """The factors that need not divide their extent (any value 1..extent): the stage takes
        ceil(extent/factor) steps over it, the last one partly idle. None by default."""
        return frozenset()

    def folding(self) -> dict[str, int]:
        """The folding written on the op (a factor absent from the IR is 1)."""
        return {key: self.int_prop(key) for key in self.folding_extents()}

    def verify_node(self) -> None:
        """The kind's own structural checks (shapes, modes); folding is checked after them."""

    def order_problem(self) -> str | None:
        """Why this node cannot take its streams in their orders (StreamType `order`; None: it can). By default
        every stream pixel-major; kinds that read a tile-major stream say so (`same_order_problem` for those the
        order is indifferent to, the tiled convs their own rule)."""
        for what, value in self._streams():
            if value.type.order is not None:
                return (f"{what} a tile-major stream (tile {value.type.tile.data} block {value.type.block.data}), "
                        f"which only weight-stationary convs (1x1 ones reading it), element-wise maps without broadcasts "
                        f"(parameters per channel at most), forks and DRAM FIFOs take")
        return None

    def same_order_problem(self) -> str | None:
        """`order_problem` of a node indifferent to the order (each element in, the same element out): every stream
        it reads and writes in one order."""
        orders = {value.type.order for _, value in self._streams()}
        if len(orders) > 1:
            names = sorted("pixel-major" if o is None else f"tile {o[0]} block {o[1]}" for o in orders)
            return f"its streams must share one order, got {', '.join(names)}"
        return None

    def _streams(self) -> list[tuple[str, SSAValue]]:
        return [("reads", v) for v in self.stream_operands()] + [
            ("writes", r) for r in self.results if isinstance(r.type, StreamType)]

    def verify_(self) -> None:
        self.verify_node()
        problem = self.order_problem()
        if problem is not None:
            raise VerifyException(f"{self.name} '{self.node_name.data}' {problem}")
        for key, allowed in ((WEIGHTS_MEMORY_ATTR, WEIGHT_MEMORIES), (MULT_IMPL_ATTR, MULT_IMPLS)):
            attr = self.attributes.get(key)
            if attr is not None and not (isinstance(attr, StringAttr) and attr.data in allowed):
                raise VerifyException(f"{self.name} '{self.node_name.data}': {key} must be one of "
                                      f"{', '.join(allowed)}, got {attr}")
        self._verify_on_chip()
        self._verify_dsp_share()
        acc = self.properties.get("acc_format")
        if acc is not None and not isinstance(acc, FixedType):
            raise VerifyException(f"{self.name} '{self.node_name.data}': acc_format must be a !dataflow.fixed, got {acc}")
        partial = self.partial_factors()
        for key, extent in self.folding_extents().items():
            factor = self.int_prop(key)
            if key in partial and not 1 <= factor <= extent:
                raise VerifyException(f"{self.name} '{self.node_name.data}': {key}={factor} must be in 1..{extent}")
            if key not in partial and (factor < 1 or extent % factor):
                raise VerifyException(f"{self.name} '{self.node_name.data}': {key}={factor} does not divide {extent}")

    def _percent(self, key: str, meaning: str) -> str | None:
        """The diagnostic prefix of the percent attribute `key` (None if absent); raises unless it is in 1..99."""
        attr = self.attributes.get(key)
        if attr is None:
            return None
        where = f"{self.name} '{self.node_name.data}': {key}"
        if not (isinstance(attr, IntegerAttr) and 1 <= attr.value.data <= 99):
            raise VerifyException(f"{where} must be a percent in 1..99 ({meaning}), got {attr}")
        return where

    def _verify_on_chip(self) -> None:
        where = self._percent(WEIGHTS_ON_CHIP_ATTR, "absent: all on chip; none: weights_memory = off_chip")
        if where is None:
            return
        memory = self.attributes.get(WEIGHTS_MEMORY_ATTR)
        if isinstance(memory, StringAttr) and memory.data == "off_chip":
            raise VerifyException(f"{where} contradicts weights_memory = off_chip (nothing on chip)")
        if not any(isinstance(o.type, TensorType) for o in self.operands):
            raise VerifyException(f"{where} on a node that reads no weights")

    def _verify_dsp_share(self) -> None:
        where = self._percent(DSP_SHARE_ATTR, "all on DSPs: no mult_impl; none: mult_impl = lut alone")
        if where is None:
            return
        impl = self.attributes.get(MULT_IMPL_ATTR)
        if not (isinstance(impl, StringAttr) and impl.data == "lut"):
            raise VerifyException(f"{where} needs mult_impl = lut (it is the share of a fabric-multiplier node's "
                                  f"multipliers kept on DSPs)")
        if not self.splits_multipliers():
            raise VerifyException(f"{where}: this node's MAC kernel cannot split its multipliers (ungrouped convs "
                                  f"without tiles and linear layers can); put all of them on DSPs or in fabric")

    def splits_multipliers(self, folding: Mapping[str, int] | None = None) -> bool:
        """Whether its HLS MAC kernel can put its first lanes' multipliers on DSPs and the others in fabric
        (at `folding`, else the IR's). None by default."""
        return False

    def dsp_share(self) -> int:
        """Percent of its multipliers on DSPs: 100 by default, 0 with mult_impl = lut, else dataflow.dsp_share."""
        impl = self.attributes.get(MULT_IMPL_ATTR)
        if not (isinstance(impl, StringAttr) and impl.data == "lut"):
            return 100
        attr = self.attributes.get(DSP_SHARE_ATTR)
        return attr.value.data if isinstance(attr, IntegerAttr) else 0

    def on_chip_percent(self) -> int:
        """Percent of the weight memory kept on chip (100 unless spilled)."""
        memory = self.attributes.get(WEIGHTS_MEMORY_ATTR)
        if isinstance(memory, StringAttr) and memory.data == "off_chip":
            return 0
        attr = self.attributes.get(WEIGHTS_ON_CHIP_ATTR)
        return attr.value.data if isinstance(attr, IntegerAttr) else 100


def drop_stream_orders(module: Operation) -> None:
    """Every stream in `module` pixel-major: a tile-major order holds for the tiles and lanes it was written for, so a
    pass choosing them anew starts from none."""
    for value in [r for op in module.walk() for r in op.results if isinstance(r.type, StreamType) and r.type.order]:
        Rewriter.replace_value_with_new_type(value, value.type.with_order(None))


def stream_type_of(value: SSAValue, what: str) -> StreamType:
    if not isinstance(value.type, StreamType):
        raise VerifyException(f"{what} must be a !dataflow.stream, got {value.type}")
    return value.type


def check_weights_shape(op: NodeOp, weights: SSAValue, expected: tuple[int, ...], what: str) -> None:
    shape = weights.type.get_shape()
    if shape != expected:
        raise VerifyException(f"{op.name} '{op.node_name.data}': {what} shape {shape}, expected {expected}")


def window_output_size(size: int, kernel: int, stride: int, dilation: int, pad_lo: int, pad_hi: int) -> int:
    """Output extent of a sliding window (PyTorch/linalg convention, floor mode)."""
    return (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1
