"""The dataflow dialect: a network as a graph of streaming hardware stages.

Every op (a *node*) is one pipeline stage of a layer-pipelined accelerator; every SSA value of
`!dataflow.stream` type is a FIFO between two stages. Streams carry one inference's tensor in
*stream order* (channels last for images: N x H x W x C), the order in which hardware moves it.
All decisions passes take (folding, number formats, storage, FIFO depth) are attributes here, so
the IR alone describes the accelerator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    Float32Type,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, TypeAttribute, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsTerminator
from xdsl.utils.exceptions import VerifyException

# Hardware decisions explore records as discardable attributes (read by estimate and HLS alike).
PLATFORM_ATTR = "dataflow.platform"  # on the module: the board the design is sized for
WEIGHTS_MEMORY_ATTR = "dataflow.weights_memory"  # on a node: where its weights live, one of WEIGHT_MEMORIES
WEIGHT_MEMORIES = ("bram", "uram", "lutram", "off_chip")
MULT_IMPL_ATTR = "dataflow.mult_impl"  # on a node: what builds its multipliers, one of MULT_IMPLS
MULT_IMPLS = ("dsp", "lut")

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
        if not 1 <= self.width.data <= 64:
            raise VerifyException(f"fixed-point width must be in 1..64, got {self.width.data}")
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
    depth: `!dataflow.stream<1x8x8x16xf32, depth 512>`.
    """

    name = "dataflow.stream"

    shape: ArrayAttr[IntAttr]
    element_type: Attribute
    depth: IntAttr

    def __init__(self, shape: Sequence[int], element_type: Attribute, depth: int = 2):
        super().__init__(ArrayAttr([IntAttr(d) for d in shape]), element_type, IntAttr(depth))

    def get_shape(self) -> tuple[int, ...]:
        return tuple(d.data for d in self.shape.data)

    @property
    def num_elements(self) -> int:
        count = 1
        for d in self.get_shape():
            count *= d
        return count

    def with_element_type(self, element_type: Attribute) -> StreamType:
        return StreamType(self.get_shape(), element_type, self.depth.data)

    def with_depth(self, depth: int) -> StreamType:
        return StreamType(self.get_shape(), self.element_type, depth)

    def verify(self) -> None:
        if any(d.data <= 0 for d in self.shape.data):
            raise VerifyException(f"stream dimensions must be static and positive, got {self.get_shape()}")
        if self.depth.data < 1:
            raise VerifyException("stream depth must be at least 1")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            shape, element_type = parser.parse_ranked_shape()
            depth = 2
            if parser.parse_optional_punctuation(",") is not None:
                parser.parse_keyword("depth")
                depth = parser.parse_integer(allow_boolean=False, allow_negative=False)
        return (ArrayAttr([IntAttr(d) for d in shape]), element_type, IntAttr(depth))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<" + "".join(f"{d}x" for d in self.get_shape()))
        printer.print_attribute(self.element_type)
        if self.depth.data != 2:
            printer.print_string(f", depth {self.depth.data}")
        printer.print_string(">")


def _ints(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


def _int(value: int) -> IntegerAttr:
    return IntegerAttr(value, i64)


def _verify_perm(perm: Sequence[int], shape: Sequence[int], permuted: Sequence[int], what: str) -> None:
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


def _stream(value: SSAValue, what: str) -> StreamType:
    if not isinstance(value.type, StreamType):
        raise VerifyException(f"{what} must be a !dataflow.stream, got {value.type}")
    return value.type


@irdl_op_definition
class SourceOp(NodeOp):
    """Graph input: streams a function argument, with `perm` giving the tensor dim of each stream dim."""

    name = "dataflow.source"
    tensor = operand_def(TensorType)
    output = result_def(StreamType)
    perm = prop_def(DenseArrayBase)

    def __init__(self, tensor: SSAValue, perm: Sequence[int], name: str):
        shape = tensor.type.get_shape()
        super().__init__(
            operands=[tensor],
            result_types=[StreamType([shape[p] for p in perm], tensor.type.get_element_type())],
            properties={"name": StringAttr(name), "perm": _ints(perm)},
        )

    def verify_(self) -> None:
        _verify_perm(self.ints_prop("perm"), self.tensor.type.get_shape(), self.output.type.get_shape(), "source stream")


@irdl_op_definition
class SinkOp(NodeOp):
    """Graph output: collects a stream into a tensor; stream dim i is tensor dim `perm[i]`."""

    name = "dataflow.sink"
    input = operand_def(StreamType)
    tensor = result_def(TensorType)
    perm = prop_def(DenseArrayBase)

    def __init__(self, stream: SSAValue, perm: Sequence[int], name: str):
        shape = stream.type.get_shape()
        tensor_shape = [0] * len(shape)
        for i, p in enumerate(perm):
            tensor_shape[p] = shape[i]
        super().__init__(
            operands=[stream],
            result_types=[TensorType(Float32Type(), tensor_shape)],
            properties={"name": StringAttr(name), "perm": _ints(perm)},
        )

    def verify_(self) -> None:
        _verify_perm(self.ints_prop("perm"), self.tensor.type.get_shape(), self.input.type.get_shape(), "sink stream")


@irdl_op_definition
class WeightsOp(NodeOp):
    """A constant tensor (weights, biases, per-channel parameters) held in a memory.

    `value` holds the numbers (exactly representable in `format` once quantized); `storage` says
    where the memory lives (`on_chip`, or `off_chip` when streamed in from DRAM).
    """

    name = "dataflow.weights"
    value = prop_def(DenseResourceAttr | DenseIntOrFPElementsAttr)
    format = opt_prop_def(Attribute)
    storage = prop_def(StringAttr, default_value=StringAttr("on_chip"))
    output = result_def(TensorType)

    assembly_format = "attr-dict `:` type($output)"

    def __init__(self, value: DenseResourceAttr, name: str):
        super().__init__(result_types=[value.type], properties={"value": value, "name": StringAttr(name)})

    def verify_(self) -> None:
        if self.value.type != self.output.type:
            raise VerifyException(f"weights type {self.output.type} does not match value type {self.value.type}")
        if self.storage.data not in ("on_chip", "off_chip"):
            raise VerifyException(f"storage must be on_chip or off_chip, got '{self.storage.data}'")


def _check_weights(op: NodeOp, weights: SSAValue, expected: tuple[int, ...], what: str) -> None:
    shape = weights.type.get_shape()
    if shape != expected:
        raise VerifyException(f"{op.name} '{op.node_name.data}': {what} shape {shape}, expected {expected}")


def _check_folding(op: NodeOp, **limits: int) -> None:
    """Folding factors must divide the dimension they split (only legal values reach hardware)."""
    for key, extent in limits.items():
        factor = op.int_prop(key)
        if factor < 1 or extent % factor:
            raise VerifyException(f"{op.name} '{op.node_name.data}': {key}={factor} does not divide {extent}")


def window_output_size(size: int, kernel: int, stride: int, dilation: int, pad_lo: int, pad_hi: int) -> int:
    """Output extent of a sliding window (PyTorch/linalg convention, floor mode)."""
    return (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1


class WindowOp(NodeOp):
    """A node sliding a Kr x Kc window over an N x H x W x C stream (convolution, pooling)."""

    kernel = prop_def(DenseArrayBase)
    stride = prop_def(DenseArrayBase)
    dilation = prop_def(DenseArrayBase)
    pad = prop_def(DenseArrayBase)

    def window_geometry(self):
        return self.ints_prop("kernel"), self.ints_prop("stride"), self.ints_prop("dilation"), self.ints_prop("pad")

    def expected_spatial(self, height: int, width: int) -> tuple[int, int]:
        (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = self.window_geometry()
        return window_output_size(height, kr, sr, dr, pt, pb), window_output_size(width, kc, sc, dc, pl, pr)

    def _verify_window(self, in_type: StreamType, out_type: StreamType, out_channels: int) -> None:
        kernel, stride, dilation, pad = self.window_geometry()
        if len(kernel) != 2 or len(stride) != 2 or len(dilation) != 2 or len(pad) != 4:
            raise VerifyException(f"{self.name}: kernel, stride, dilation need 2 values and pad 4")
        if min(kernel + stride + dilation) < 1 or min(pad) < 0:
            raise VerifyException(f"{self.name}: kernel, stride, dilation must be >= 1 and pad >= 0")
        if len(in_type.get_shape()) != 4:
            raise VerifyException(f"{self.name} expects an N x H x W x C stream, got {in_type.get_shape()}")
        n, h, w, _ = in_type.get_shape()
        expected = (n, *self.expected_spatial(h, w), out_channels)
        if out_type.get_shape() != expected:
            raise VerifyException(f"{self.name} '{self.node_name.data}': output shape {out_type.get_shape()}, expected {expected}")


@irdl_op_definition
class ConvOp(WindowOp):
    """2-D convolution (grouped/depthwise included); weights F x C/groups x Kr x Kc, bias F.

    Folding (fpgaConvNet): `coarse_in` input channels, `coarse_out` filters, `coarse_group` groups
    and `fine` kernel positions are processed per cycle.
    """

    name = "dataflow.conv"
    input = operand_def(StreamType)
    weights = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(StreamType)
    groups = prop_def(IntegerAttr, default_value=_int(1))
    coarse_in = opt_prop_def(IntegerAttr)
    coarse_out = opt_prop_def(IntegerAttr)
    coarse_group = opt_prop_def(IntegerAttr)
    fine = opt_prop_def(IntegerAttr)
    acc_format = opt_prop_def(Attribute)

    def __init__(self, input: SSAValue, weights: SSAValue, bias: SSAValue | None, *, name: str,
                 stride: Sequence[int], dilation: Sequence[int], pad: Sequence[int], groups: int):
        f, _, kr, kc = weights.type.get_shape()
        n, h, w, _ = input.type.get_shape()
        ho = window_output_size(h, kr, stride[0], dilation[0], pad[0], pad[1])
        wo = window_output_size(w, kc, stride[1], dilation[1], pad[2], pad[3])
        super().__init__(
            operands=[input, weights, bias],
            result_types=[StreamType((n, ho, wo, f), input.type.element_type)],
            properties={"name": StringAttr(name), "kernel": _ints((kr, kc)), "stride": _ints(stride),
                        "dilation": _ints(dilation), "pad": _ints(pad), "groups": _int(groups)},
        )

    def verify_(self) -> None:
        in_type, out_type = _stream(self.input, "conv input"), _stream(self.output, "conv output")
        groups = self.groups.value.data
        channels = in_type.get_shape()[-1]
        filters = out_type.get_shape()[-1]
        kr, kc = self.ints_prop("kernel")
        if groups < 1 or channels % groups or filters % groups:
            raise VerifyException(f"conv '{self.node_name.data}': groups={groups} must divide {channels} channels and {filters} filters")
        _check_weights(self, self.weights, (filters, channels // groups, kr, kc), "weights")
        if self.bias is not None:
            _check_weights(self, self.bias, (filters,), "bias")
        self._verify_window(in_type, out_type, filters)
        _check_folding(self, coarse_in=channels // groups, coarse_out=filters // groups,
                       coarse_group=groups, fine=kr * kc)


@irdl_op_definition
class LinearOp(NodeOp):
    """Fully connected layer over the last stream dim: y = x W^T + b, weights F x C (PyTorch order)."""

    name = "dataflow.linear"
    input = operand_def(StreamType)
    weights = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(StreamType)
    coarse_in = opt_prop_def(IntegerAttr)
    coarse_out = opt_prop_def(IntegerAttr)
    acc_format = opt_prop_def(Attribute)

    def __init__(self, input: SSAValue, weights: SSAValue, bias: SSAValue | None, *, name: str):
        f = weights.type.get_shape()[0]
        shape = input.type.get_shape()[:-1] + (f,)
        super().__init__(
            operands=[input, weights, bias],
            result_types=[StreamType(shape, input.type.element_type)],
            properties={"name": StringAttr(name)},
        )

    def verify_(self) -> None:
        in_shape, out_shape = _stream(self.input, "linear input").get_shape(), _stream(self.output, "linear output").get_shape()
        if in_shape[:-1] != out_shape[:-1]:
            raise VerifyException(f"linear '{self.node_name.data}': leading dims {in_shape[:-1]} != {out_shape[:-1]}")
        _check_weights(self, self.weights, (out_shape[-1], in_shape[-1]), "weights")
        if self.bias is not None:
            _check_weights(self, self.bias, (out_shape[-1],), "bias")
        _check_folding(self, coarse_in=in_shape[-1], coarse_out=out_shape[-1])


POOL_KINDS = ("max", "sum")


@irdl_op_definition
class PoolOp(WindowOp):
    """Max or sum pooling over Kr x Kc windows; padding contributes -inf (max) or 0 (sum).

    Average pooling is a sum pool followed by a map dividing by the window size (or, for PyTorch's
    count_include_pad=False, by a per-position count), exactly as torch-mlir expresses it.
    """

    name = "dataflow.pool"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    kind = prop_def(StringAttr)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, *, name: str, kind: str, kernel: Sequence[int], stride: Sequence[int],
                 dilation: Sequence[int], pad: Sequence[int]):
        n, h, w, c = input.type.get_shape()
        ho = window_output_size(h, kernel[0], stride[0], dilation[0], pad[0], pad[1])
        wo = window_output_size(w, kernel[1], stride[1], dilation[1], pad[2], pad[3])
        props = {"name": StringAttr(name), "kind": StringAttr(kind), "kernel": _ints(kernel),
                 "stride": _ints(stride), "dilation": _ints(dilation), "pad": _ints(pad)}
        super().__init__(operands=[input], result_types=[StreamType((n, ho, wo, c), input.type.element_type)],
                         properties=props)

    def verify_(self) -> None:
        if self.kind.data not in POOL_KINDS:
            raise VerifyException(f"pool kind must be one of {POOL_KINDS}, got '{self.kind.data}'")
        in_type = _stream(self.input, "pool input")
        self._verify_window(in_type, _stream(self.output, "pool output"), in_type.get_shape()[-1])
        _check_folding(self, coarse=in_type.get_shape()[-1])


REDUCE_KINDS = ("sum", "mean", "max")


@irdl_op_definition
class ReduceOp(NodeOp):
    """Reduces stream dims `dims` (sum, mean or max), keeping them as size 1.

    Global average pooling is `mean` over H and W of an N x H x W x C stream: one accumulator per
    channel, so its buffer is C words whatever the image size.
    """

    name = "dataflow.reduce"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    kind = prop_def(StringAttr)
    dims = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, *, name: str, kind: str, dims: Sequence[int]):
        shape = tuple(1 if i in dims else d for i, d in enumerate(input.type.get_shape()))
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "kind": StringAttr(kind), "dims": _ints(dims)})

    def verify_(self) -> None:
        if self.kind.data not in REDUCE_KINDS:
            raise VerifyException(f"reduce kind must be one of {REDUCE_KINDS}, got '{self.kind.data}'")
        shape = _stream(self.input, "reduce input").get_shape()
        dims = self.ints_prop("dims")
        if any(d < 0 or d >= len(shape) for d in dims):
            raise VerifyException(f"reduce dims {dims} out of range for rank {len(shape)}")
        expected = tuple(1 if i in dims else d for i, d in enumerate(shape))
        if self.output.type.get_shape() != expected:
            raise VerifyException(f"reduce output shape {self.output.type.get_shape()}, expected {expected}")


def broadcast_shape(shapes: Sequence[Sequence[int]]) -> tuple[int, ...] | None:
    """numpy broadcasting of shapes aligned on the right, or None if they do not broadcast."""
    rank = max(len(s) for s in shapes)
    result = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0} - {1}
        if len(sizes) > 1:
            return None
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


@irdl_op_definition
class MapOp(NodeOp):
    """Element-wise stage: applies its scalar body to each element of its input streams.

    The body's block arguments are one scalar per input stream, then one per parameter tensor
    (per-channel constants such as a scale, broadcast to the output shape by numpy rules in stream
    order). One input stream is an activation (ReLU, GELU, ...); two are a join (residual add,
    gating or squeeze-excitation multiply, a smaller stream being broadcast).
    """

    name = "dataflow.map"
    inputs = var_operand_def(StreamType)
    params = var_operand_def(TensorType)
    output = result_def(StreamType)
    body = region_def("single_block")
    coarse = opt_prop_def(IntegerAttr)

    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = "$inputs (`params` `(` $params^ `:` type($params) `)`)? attr-dict `:` type($inputs) `->` type($output) $body"

    def verify_(self) -> None:
        out_shape = self.output.type.get_shape()
        in_shapes = [_stream(v, "map input").get_shape() for v in self.inputs]
        if broadcast_shape([*in_shapes, out_shape]) != out_shape:
            raise VerifyException(f"map '{self.node_name.data}': inputs {in_shapes} do not broadcast to {out_shape}")
        for param in self.params:
            if broadcast_shape([param.type.get_shape(), out_shape]) != out_shape:
                raise VerifyException(f"map '{self.node_name.data}': parameter {param.type.get_shape()} does not broadcast to {out_shape}")
        block = self.body.block
        if len(block.args) != len(self.inputs) + len(self.params):
            raise VerifyException(f"map '{self.node_name.data}': body takes {len(block.args)} arguments, expected {len(self.inputs) + len(self.params)}")
        if not isinstance(block.last_op, YieldOp) or len(block.last_op.operands) != 1:
            raise VerifyException(f"map '{self.node_name.data}': body must end in dataflow.yield of one value")
        _check_folding(self, coarse=out_shape[-1])


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminates a map body with the scalar it computes."""

    name = "dataflow.yield"
    values = var_operand_def(Attribute)
    traits = traits_def(IsTerminator(), HasParent(MapOp))
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[values])


@irdl_op_definition
class ForkOp(NodeOp):
    """Copies one stream to several consumers (each FIFO has exactly one reader)."""

    name = "dataflow.fork"
    input = operand_def(StreamType)
    outputs = var_result_def(StreamType)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, count: int, name: str):
        super().__init__(operands=[input], result_types=[[input.type] * count], properties={"name": StringAttr(name)})

    def verify_(self) -> None:
        if len(self.outputs) < 2:
            raise VerifyException("fork needs at least two outputs")
        shape = self.input.type.get_shape()
        if any(o.type.get_shape() != shape for o in self.outputs):
            raise VerifyException("fork outputs must have the input's shape")


@irdl_op_definition
class ReshapeOp(NodeOp):
    """Reinterprets a stream with a new shape, same elements in the same order (no buffer)."""

    name = "dataflow.reshape"
    input = operand_def(StreamType)
    output = result_def(StreamType)

    def __init__(self, input: SSAValue, shape: Sequence[int], name: str):
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name)})

    def verify_(self) -> None:
        if self.input.type.num_elements != self.output.type.num_elements:
            raise VerifyException(f"reshape changes the element count: {self.input.type.get_shape()} -> {self.output.type.get_shape()}")


@irdl_op_definition
class TransposeOp(NodeOp):
    """Reorders a stream: output dim i is input dim `perm[i]`. Buffers the whole tensor."""

    name = "dataflow.transpose"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    perm = prop_def(DenseArrayBase)

    def __init__(self, input: SSAValue, perm: Sequence[int], name: str):
        shape = input.type.get_shape()
        super().__init__(operands=[input], result_types=[StreamType([shape[p] for p in perm], input.type.element_type)],
                         properties={"name": StringAttr(name), "perm": _ints(perm)})

    def verify_(self) -> None:
        _verify_perm(self.ints_prop("perm"), self.input.type.get_shape(), self.output.type.get_shape(), "transpose output")


@irdl_op_definition
class ConcatOp(NodeOp):
    """Joins streams along stream dim `axis` (channel concat is the last dim of an NHWC stream).

    Buffer: for the last dim none (per pixel it reads each input's channels in turn); for an outer
    dim every input after the first waits until the earlier ones are done, so `buffer_words()`
    counts their elements (realised as FIFO depth on those inputs).
    """

    name = "dataflow.concat"
    inputs = var_operand_def(StreamType)
    output = result_def(StreamType)
    axis = prop_def(IntegerAttr)

    def __init__(self, inputs: Sequence[SSAValue], axis: int, name: str):
        shapes = [v.type.get_shape() for v in inputs]
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        super().__init__(operands=[inputs], result_types=[StreamType(shape, inputs[0].type.element_type)],
                         properties={"name": StringAttr(name), "axis": _int(axis)})

    def buffer_words(self) -> int:
        axis = self.axis.value.data
        if axis == len(self.output.type.get_shape()) - 1:
            return 0
        return sum(v.type.num_elements for v in self.inputs[1:])

    def verify_(self) -> None:
        axis = self.axis.value.data
        shapes = [_stream(v, "concat input").get_shape() for v in self.inputs]
        out = _stream(self.output, "concat output").get_shape()
        if not shapes or not 0 <= axis < len(out):
            raise VerifyException(f"concat '{self.node_name.data}': axis {axis} out of range")
        expected = list(shapes[0])
        expected[axis] = sum(s[axis] for s in shapes)
        if any(len(s) != len(out) or s[:axis] + s[axis + 1:] != out[:axis] + out[axis + 1:] for s in shapes) or tuple(expected) != out:
            raise VerifyException(f"concat '{self.node_name.data}': inputs {shapes} do not concatenate to {out} on axis {axis}")


@irdl_op_definition
class SliceOp(NodeOp):
    """Keeps elements `offsets + strides * i` (i < output shape) of each stream dim, drops the rest.

    One output of a split (`chunk`, crops): a fork feeding several slices is a split. No buffer: it
    forwards or discards each element as it arrives.
    """

    name = "dataflow.slice"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    offsets = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)

    def __init__(self, input: SSAValue, offsets: Sequence[int], sizes: Sequence[int], strides: Sequence[int], name: str):
        super().__init__(operands=[input], result_types=[StreamType(sizes, input.type.element_type)],
                         properties={"name": StringAttr(name), "offsets": _ints(offsets), "strides": _ints(strides)})

    def verify_(self) -> None:
        shape, out = self.input.type.get_shape(), self.output.type.get_shape()
        offsets, strides = self.ints_prop("offsets"), self.ints_prop("strides")
        if not len(shape) == len(out) == len(offsets) == len(strides):
            raise VerifyException(f"slice '{self.node_name.data}': offsets, strides and shapes must have one entry per dim")
        for size, o, n, st in zip(shape, offsets, out, strides):
            if o < 0 or st < 1 or o + st * (n - 1) >= size:
                raise VerifyException(f"slice '{self.node_name.data}': window {offsets}/{strides} of {out} exceeds {shape}")


PAD_MODES = ("constant", "reflect", "replicate", "circular")


@irdl_op_definition
class PadOp(NodeOp):
    """Pads stream dims by `pad` = (lo0, hi0, lo1, hi1, ...) with a constant or copies of the edge.

    `reflect` mirrors without repeating the edge, `replicate` repeats it, `circular` wraps around
    (PyTorch's padding modes). Constant zero padding read by a conv or pool is folded into that
    node instead. Buffer (`buffer_words()`): in an NHWC stream, reflect/replicate re-emit up to
    lo+1 rows already seen, circular needs the last rows before the first, i.e. the whole frame.
    """

    name = "dataflow.pad"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    mode = prop_def(StringAttr)
    pad = prop_def(DenseArrayBase)
    value = prop_def(FloatAttr, default_value=FloatAttr(0.0, Float32Type()))

    def __init__(self, input: SSAValue, pad: Sequence[int], mode: str, name: str, value: float = 0.0):
        shape = [d + pad[2 * i] + pad[2 * i + 1] for i, d in enumerate(input.type.get_shape())]
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "mode": StringAttr(mode), "pad": _ints(pad),
                                     "value": FloatAttr(value, Float32Type())})

    def buffer_words(self) -> int:
        shape, pad = self.input.type.get_shape(), self.ints_prop("pad")
        if self.mode.data == "constant":
            return 0
        if self.mode.data == "circular":
            return self.input.type.num_elements
        outer = next((i for i in range(len(shape)) if pad[2 * i] or pad[2 * i + 1]), len(shape) - 1)
        row = self.input.type.num_elements // math.prod(shape[:outer + 1])
        return (max(pad[2 * outer], pad[2 * outer + 1]) + 1) * row

    def verify_(self) -> None:
        shape, out, pad = self.input.type.get_shape(), self.output.type.get_shape(), self.ints_prop("pad")
        if self.mode.data not in PAD_MODES:
            raise VerifyException(f"pad mode must be one of {PAD_MODES}, got '{self.mode.data}'")
        if len(pad) != 2 * len(shape) or min(pad) < 0:
            raise VerifyException(f"pad '{self.node_name.data}': pad needs two non-negative values per dim")
        if out != tuple(d + pad[2 * i] + pad[2 * i + 1] for i, d in enumerate(shape)):
            raise VerifyException(f"pad '{self.node_name.data}': output shape {out} is not the padded input {shape}")
        if self.mode.data == "reflect" and any(max(pad[2 * i], pad[2 * i + 1]) >= d for i, d in enumerate(shape)):
            raise VerifyException(f"pad '{self.node_name.data}': reflect padding must be smaller than the dim")


RESIZE_MODES = ("nearest", "zeros")


@irdl_op_definition
class ResizeOp(NodeOp):
    """Integer-factor upsampling of each stream dim by `scale`.

    `nearest` repeats every element scale times (n -> n*s; nn.Upsample(mode="nearest")); `zeros`
    inserts s-1 zeros between elements (n -> (n-1)*s+1), the input of a transposed convolution
    lowered to a convolution. Buffer: nearest re-emits each row of an NHWC stream s times, so it
    holds one row (W*C words); zeros holds nothing.
    """

    name = "dataflow.resize"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    mode = prop_def(StringAttr)
    scale = prop_def(DenseArrayBase)

    @staticmethod
    def output_shape(shape: Sequence[int], scale: Sequence[int], mode: str) -> tuple[int, ...]:
        if mode == "nearest":
            return tuple(d * s for d, s in zip(shape, scale))
        return tuple((d - 1) * s + 1 for d, s in zip(shape, scale))

    def __init__(self, input: SSAValue, scale: Sequence[int], mode: str, name: str):
        shape = self.output_shape(input.type.get_shape(), scale, mode)
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "mode": StringAttr(mode), "scale": _ints(scale)})

    def buffer_words(self) -> int:
        if self.mode.data != "nearest":
            return 0
        shape, scale = self.input.type.get_shape(), self.ints_prop("scale")
        outer = next((i for i, s in enumerate(scale) if s > 1), len(shape) - 1)
        return math.prod(shape[outer + 1:])

    def verify_(self) -> None:
        if self.mode.data not in RESIZE_MODES:
            raise VerifyException(f"resize mode must be one of {RESIZE_MODES}, got '{self.mode.data}'")
        shape, scale = self.input.type.get_shape(), self.ints_prop("scale")
        if len(scale) != len(shape) or min(scale) < 1:
            raise VerifyException(f"resize '{self.node_name.data}': scale needs one factor >= 1 per dim")
        expected = self.output_shape(shape, scale, self.mode.data)
        if self.output.type.get_shape() != expected:
            raise VerifyException(f"resize '{self.node_name.data}': output shape {self.output.type.get_shape()}, expected {expected}")


@irdl_op_definition
class MatmulOp(NodeOp):
    """Batched product of two activation streams: (B.. x M x K) @ (B.. x K x N) -> (B.. x M x N).

    Attention's q k^T and p v. Buffer (`buffer_words()`): the whole right operand of one batch
    entry (K x N words, double-buffered across batch entries in hardware), while the left operand
    streams row by row.
    """

    name = "dataflow.matmul"
    lhs = operand_def(StreamType)
    rhs = operand_def(StreamType)
    output = result_def(StreamType)
    coarse_in = opt_prop_def(IntegerAttr)
    coarse_out = opt_prop_def(IntegerAttr)
    acc_format = opt_prop_def(Attribute)

    def __init__(self, lhs: SSAValue, rhs: SSAValue, name: str):
        shape = lhs.type.get_shape()[:-1] + rhs.type.get_shape()[-1:]
        super().__init__(operands=[lhs, rhs], result_types=[StreamType(shape, lhs.type.element_type)],
                         properties={"name": StringAttr(name)})

    def buffer_words(self) -> int:
        k, n = self.rhs.type.get_shape()[-2:]
        return k * n

    def verify_(self) -> None:
        a, b = _stream(self.lhs, "matmul lhs").get_shape(), _stream(self.rhs, "matmul rhs").get_shape()
        out = _stream(self.output, "matmul output").get_shape()
        if len(a) < 2 or len(a) != len(b) or a[:-2] != b[:-2] or a[-1] != b[-2] or out != a[:-1] + b[-1:]:
            raise VerifyException(f"matmul '{self.node_name.data}': {a} @ {b} does not give {out}")
        _check_folding(self, coarse_in=a[-1], coarse_out=b[-1])


Dataflow = Dialect(
    "dataflow",
    [SourceOp, SinkOp, WeightsOp, ConvOp, LinearOp, PoolOp, ReduceOp, MapOp, YieldOp, ForkOp, ReshapeOp, TransposeOp,
     ConcatOp, SliceOp, PadOp, ResizeOp, MatmulOp],
    [StreamType, FixedType],
)
