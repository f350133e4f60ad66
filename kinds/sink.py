"""Graph output: a stream collected into a function result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, Float32Type, IntegerAttr, StringAttr, TensorType
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, verify_perm
from dfcc.errors import DfccError
from dfcc.kinds.cost import NodeModel, pixel_port, port_pixel_extents, port_pixel_lanes
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class SinkOp(NodeOp):
    """Graph output: collects a stream into a tensor; stream dim i is tensor dim `perm[i]`.

    Folding: `pixels` adjacent positions (all their channels) per beat on its port, spatial
    parallelism of an image stream (explore{spatial=true} only); at one pixel its port takes the
    lanes its producer writes.
    """

    name = "dataflow.sink"
    input = operand_def(StreamType)
    tensor = result_def(TensorType)
    perm = prop_def(DenseArrayBase)
    pixels = opt_prop_def(IntegerAttr)

    def __init__(self, stream: SSAValue, perm: Sequence[int], name: str):
        shape = stream.type.get_shape()
        tensor_shape = [0] * len(shape)
        for i, p in enumerate(perm):
            tensor_shape[p] = shape[i]
        super().__init__(
            operands=[stream],
            result_types=[TensorType(Float32Type(), tensor_shape)],
            properties={"name": StringAttr(name), "perm": int_array(perm)},
        )

    def folding_extents(self) -> dict[str, int]:
        return port_pixel_extents(self.input.type)

    def verify_node(self) -> None:
        verify_perm(self.ints_prop("perm"), self.tensor.type.get_shape(), self.input.type.get_shape(), "sink stream")


def sink_lanes(op: SinkOp, folding: Mapping[str, int] | None = None) -> int:
    """Lanes of its port (kinds/cost.py port_pixel_lanes)."""
    return port_pixel_lanes(op.input.type, op.folding() if folding is None else folding)


@register
class Sink(FixedIsFloatThenCast, NodeKind):
    op = SinkOp

    def cost(self, op: SinkOp) -> NodeModel:
        return pixel_port(op, op.input.type)

    def run_float(self, op: SinkOp, args):
        return (np.ascontiguousarray(np.transpose(args[0], np.argsort(op.ints_prop("perm"))), dtype=np.float32),)

    def stream_lanes(self, op: SinkOp, folding=None) -> tuple[int, int]:
        raise DfccError(f"sink '{op.node_name.data}' has no lanes of its own: its port takes those its producer writes")

    def read_lanes(self, op: SinkOp, value, folding=None, producer_lanes: int = 1) -> int:
        return sink_lanes(op, folding) or producer_lanes  # at one pixel as wide as its producer's stream

    def emit_hls(self, em, op: SinkOp) -> None:
        em.sink(op)
