"""Zero-skipping linear layer: computes what `dataflow.linear` computes, but spends cycles only on
its non-zero activation x weight products, as the zero-skipping conv does (kinds/sparse_conv.py).

A linear layer is a 1x1 convolution over its rows (fpgaConvNet's inner product layer), so the node
is costed and built as one: a window is a single product (K = 1, fine = 1), it costs one cycle when
both factors are non-zero and none otherwise, and the HLS stage is include/dfcc/sparse_conv.h with
a 1x1 kernel over a rows x 1 image. Cycles are the expectation over `dataflow.zero_histogram`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from xdsl.irdl import irdl_op_definition

from dfcc.hardware.cycles import sparse_conv_cycles
from dfcc.kinds.cost import Folding, NodeModel, stream_bits, weight_bits
from dfcc.kinds.hls_sparse import emit_zero_skipping
from dfcc.kinds.hls_types import prod
from dfcc.kinds.linear import Linear, LinearFields, linear_row_cycles, linear_rows
from dfcc.kinds.registry import register
from dfcc.kinds.sparse_conv import (
    channel_slots, constant_weights, expected_histogram, sparse_memory, stored_weights, with_sparse_depth,
    with_sparse_memory, work_function,
)


@irdl_op_definition
class SparseLinearOp(LinearFields):
    """A `dataflow.linear` that skips zero products (module doc); same operands, properties and folding."""

    name = "dataflow.sparse_linear"


@register
class SparseLinear(Linear):
    op = SparseLinearOp
    hls_headers = ("sparse_conv.h",)
    cost_reads_weights = True  # the stored non-zero weights size its memory

    def cycles_function(self, op: SparseLinearOp) -> Callable[[Folding], float]:
        c, f, rows = op.input.type.get_shape()[-1], op.output.type.get_shape()[-1], linear_rows(op)
        work = work_function(op, self, 1)

        def cycles(folding: Folding) -> int:
            lanes_in, lanes_out = self.stream_lanes(op, dict(zip(("coarse_in", "coarse_out"), folding)))
            # a linear layer as a 1x1 convolution over its rows (fpgaConvNet), zero-skipping as PASS/HASS
            return math.ceil(sparse_conv_cycles(rows, 1, c, f, rows, 1, lanes_in, lanes_out, work(folding).loads))

        return cycles

    def emit_hls(self, em, op: SparseLinearOp) -> None:
        """The sparse conv kernel with a 1x1 kernel over a rows x 1 image (module doc)."""
        shape = op.input.type.get_shape()
        lanes_in, lanes_out = self.stream_lanes(op)
        geom = f"dfcc::geom<{prod(shape[:-1])}, 1, {shape[-1]}, 1, 1>"
        slots = channel_slots(expected_histogram(op), 1, lanes_in, 1)
        emit_zero_skipping(em, op, geom, 1, lanes_in, lanes_out, 1, constant_weights(op), slots)

    def cost(self, op: SparseLinearOp) -> NodeModel:
        hist = expected_histogram(op)
        stored = stored_weights(constant_weights(op), 1)
        w_bits, d_bits = weight_bits(op.weights), stream_bits(op.input)

        def memory(folding: Folding) -> tuple[int, int, int, int]:
            ci, co = folding
            return sparse_memory(stored, 1, channel_slots(hist, 1, ci, 1), co, 1, w_bits, d_bits)

        c, f = op.input.type.get_shape()[-1], op.output.type.get_shape()[-1]
        model = with_sparse_memory(super().cost(op), memory)
        return with_sparse_depth(model, lambda folding: linear_row_cycles(c, f, folding), work_function(op, self, 1))
