"""Graph input: a function argument streamed into the network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, IntegerType, StringAttr, TensorType
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, verify_perm
from dfcc.errors import DfccError
from dfcc.kinds.cost import NodeModel, pixel_port, port_pixel_extents, port_pixel_lanes
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
        return port_pixel_extents(self.output.type)

    def verify_node(self) -> None:
        verify_perm(self.ints_prop("perm"), self.tensor.type.get_shape(), self.output.type.get_shape(), "source stream")


def port_lanes(op: SourceOp, folding: Mapping[str, int] | None = None) -> int:
    """Lanes of its port (kinds/cost.py port_pixel_lanes)."""
    return port_pixel_lanes(op.output.type, op.folding() if folding is None else folding)


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
