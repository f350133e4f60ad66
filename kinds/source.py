"""Graph input: a function argument streamed into the network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, IntegerType, StringAttr, TensorType
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, verify_perm
from dfcc.errors import DfccError
from dfcc.kinds.cost import NodeModel, pixel_port
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class SourceOp(NodeOp):
    """Graph input: streams a function argument, with `perm` giving the tensor dim of each stream dim.

    Folding: `pixels` adjacent positions (all their channels) per beat, spatial parallelism of an
    image stream (explore{spatial=true} only); at one pixel its port takes the lanes its consumer reads.
    """

    name = "dataflow.source"
    tensor = operand_def(TensorType)
    output = result_def(StreamType)
    perm = prop_def(DenseArrayBase)
    pixels = opt_prop_def(IntegerAttr)

    def __init__(self, tensor: SSAValue, perm: Sequence[int], name: str):
        shape = tensor.type.get_shape()
        super().__init__(
            operands=[tensor],
            result_types=[StreamType([shape[p] for p in perm], tensor.type.get_element_type())],
            properties={"name": StringAttr(name), "perm": int_array(perm)},
        )

    def folding_extents(self) -> dict[str, int]:
        """Pixels per beat dividing the row width of an N x H x W x C stream (other ranks: one)."""
        shape = self.output.type.get_shape()
        return {"pixels": shape[2] if len(shape) == 4 else 1}

    def verify_node(self) -> None:
        verify_perm(self.ints_prop("perm"), self.tensor.type.get_shape(), self.output.type.get_shape(), "source stream")


def port_lanes(op: SourceOp, folding: Mapping[str, int] | None = None) -> int:
    """Lanes of the input port: `pixels` whole pixels when more than one, else 0 (the port takes
    the lanes its consumer reads, so no lane converter). The emitter, the schedules and the
    network's converters all read it."""
    px = (op.folding() if folding is None else folding).get("pixels", 1)
    return 0 if px == 1 else px * op.output.type.get_shape()[-1]


@register
class Source(FixedIsFloatThenCast, NodeKind):
    op = SourceOp

    def cost(self, op: SourceOp) -> NodeModel:
        return pixel_port(op, op.output.type)

    def run_float(self, op: SourceOp, args):
        """The argument in stream order: float32 numbers, or int64 for integer inputs (token ids)."""
        dtype = np.int64 if isinstance(op.output.type.element_type, IntegerType) else np.float32
        return (np.ascontiguousarray(np.transpose(args[0], op.ints_prop("perm")), dtype=dtype),)

    def stream_lanes(self, op: SourceOp, folding=None) -> tuple[int, int]:
        raise DfccError(f"source '{op.node_name.data}' has no lanes of its own: its port takes those its consumer reads "
                        f"(`pixels` whole pixels when more than one)")

    def emit_hls(self, em, op: SourceOp) -> None:
        em.source_port(op)
