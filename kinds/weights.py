"""Constant tensors (weights, biases, per-channel parameters) held in a memory."""

from __future__ import annotations

from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, DenseResourceAttr, StringAttr, TensorType
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp
from dfcc.errors import DfccError
from dfcc.kinds.registry import NodeKind, register


@irdl_op_definition
class WeightsOp(NodeOp):
    """A constant tensor (weights, biases, per-channel parameters) held in a memory.

    `value` holds the numbers (exactly representable in `format` once quantized). Where the memory
    lives is the reading node's `dataflow.weights_memory` (bram by default, or uram, lutram, off_chip).
    """

    name = "dataflow.weights"
    value = prop_def(DenseResourceAttr | DenseIntOrFPElementsAttr)
    format = opt_prop_def(Attribute)
    output = result_def(TensorType)

    assembly_format = "attr-dict `:` type($output)"

    def __init__(self, value: DenseResourceAttr, name: str):
        super().__init__(result_types=[value.type], properties={"value": value, "name": StringAttr(name)})

    def verify_node(self) -> None:
        if self.value.type != self.output.type:
            raise VerifyException(f"weights type {self.output.type} does not match value type {self.value.type}")


@register
class Weights(NodeKind):
    op = WeightsOp

    def cost(self, op: WeightsOp):
        raise DfccError(f"weights '{op.node_name.data}' have no cost of their own: the node reading them counts "
                        "their memory")

    def stream_lanes(self, op: WeightsOp, folding=None, producer_lanes: int = 1) -> tuple[int, int]:
        raise DfccError(f"weights '{op.node_name.data}' are a constant, not a stream: they have no lanes")

    def emit_hls(self, em, op: WeightsOp) -> None:
        """Nothing of its own: the nodes reading it make its ROMs (their layout and number type)."""
