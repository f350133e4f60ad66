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
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute, SSAValue
from xdsl.irdl import IRDLOperation, ParsePropInAttrDict, irdl_attr_definition, prop_def
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

# Hardware decisions explore records as discardable attributes (read by estimate and HLS alike).
PLATFORM_ATTR = "dataflow.platform"  # on the module: the board the design is sized for
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
    """

    name = "dataflow.stream"

    shape: ArrayAttr[IntAttr]
    element_type: Attribute
    depth: IntAttr
    memory: StringAttr

    def __init__(self, shape: Sequence[int], element_type: Attribute, depth: int = 2, memory: str = "auto"):
        super().__init__(ArrayAttr([IntAttr(d) for d in shape]), element_type, IntAttr(depth), StringAttr(memory))

    def get_shape(self) -> tuple[int, ...]:
        return tuple(d.data for d in self.shape.data)

    @property
    def num_elements(self) -> int:
        count = 1
        for d in self.get_shape():
            count *= d
        return count

    def with_element_type(self, element_type: Attribute) -> StreamType:
        return StreamType(self.get_shape(), element_type, self.depth.data, self.memory.data)

    def with_depth(self, depth: int) -> StreamType:
        return StreamType(self.get_shape(), self.element_type, depth, self.memory.data)

    def with_memory(self, memory: str) -> StreamType:
        return StreamType(self.get_shape(), self.element_type, self.depth.data, memory)

    def verify(self) -> None:
        if any(d.data <= 0 for d in self.shape.data):
            raise VerifyException(f"stream dimensions must be static and positive, got {self.get_shape()}")
        if not 1 <= self.depth.data <= MAX_FIFO_DEPTH:
            raise VerifyException(f"stream depth must be in 1..{MAX_FIFO_DEPTH} (2^24), got {self.depth.data}")
        if self.memory.data not in FIFO_MEMORIES:
            raise VerifyException(f"stream memory must be one of {', '.join(FIFO_MEMORIES)}, got '{self.memory.data}'")
        if not isinstance(self.element_type, Float32Type | Float64Type | IntegerType | FixedType):
            raise VerifyException(f"stream elements must be f32, f64, an integer or !dataflow.fixed, got {self.element_type}")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            shape, element_type = parser.parse_ranked_shape()
            depth, memory = 2, "auto"
            while parser.parse_optional_punctuation(",") is not None:
                if parser.parse_optional_keyword("depth") is not None:
                    depth = parser.parse_integer(allow_boolean=False, allow_negative=False)
                else:
                    memory = parser.parse_identifier(f" (a stream's depth N or memory: {', '.join(FIFO_MEMORIES)})")
        return (ArrayAttr([IntAttr(d) for d in shape]), element_type, IntAttr(depth), StringAttr(memory))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<" + "".join(f"{d}x" for d in self.get_shape()))
        printer.print_attribute(self.element_type)
        if self.depth.data != 2:
            printer.print_string(f", depth {self.depth.data}")
        if self.memory.data != "auto":
            printer.print_string(f", {self.memory.data}")
        printer.print_string(">")


def int_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


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
        return tuple(self.properties[key].get_values())

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

    def verify_(self) -> None:
        self.verify_node()
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
