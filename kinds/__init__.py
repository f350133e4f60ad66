"""Node kinds: one module per kind of dataflow node, each holding everything about that kind.

`registry.KINDS` maps each op class to its `NodeKind`; `kind_of(op)` is how passes and backends
reach a kind. The `Dataflow` xDSL dialect is assembled from the registry. Op classes are re-exported
here: `from dfcc.kinds import ConvOp`. Layers: dialects/ and hardware/ below, analyses/ above.
"""

from xdsl.ir import Dialect

from dfcc.dialects.dataflow import FixedType, StreamType
from dfcc.kinds.registry import KINDS, NodeKind, kind_of, register
from dfcc.kinds.source import SourceOp
from dfcc.kinds.sink import SinkOp
from dfcc.kinds.weights import WeightsOp
from dfcc.kinds.sparse_weights import SparseWeightsOp
from dfcc.kinds.conv import ConvOp
from dfcc.kinds.sparse_conv import SparseConvOp
from dfcc.kinds.linear import LinearOp
from dfcc.kinds.sparse_linear import SparseLinearOp
from dfcc.kinds.pool import PoolOp
from dfcc.kinds.reduce import ReduceOp
from dfcc.kinds.map import MapOp, YieldOp
from dfcc.kinds.fork import ForkOp
from dfcc.kinds.reshape import ReshapeOp
from dfcc.kinds.transpose import TransposeOp
from dfcc.kinds.concat import ConcatOp
from dfcc.kinds.slice import SliceOp
from dfcc.kinds.pad import PadOp
from dfcc.kinds.resize import ResizeOp
from dfcc.kinds.depth_to_space import DepthToSpaceOp
from dfcc.kinds.reindex import ReindexOp
from dfcc.kinds.matmul import MatmulOp
from dfcc.kinds.ddr_fifo import DdrFifoOp
from dfcc.kinds.embedding import EmbeddingOp

Dataflow = Dialect("dataflow", [*KINDS, YieldOp], [StreamType, FixedType])

__all__ = [
    "KINDS", "Dataflow", "NodeKind", "kind_of", "register", "YieldOp",
    "SourceOp", "SinkOp", "WeightsOp", "SparseWeightsOp", "ConvOp", "SparseConvOp", "LinearOp", "SparseLinearOp", "PoolOp",
    "ReduceOp", "MapOp", "ForkOp", "ReshapeOp", "TransposeOp", "ConcatOp", "SliceOp", "PadOp", "ResizeOp", "DepthToSpaceOp", "ReindexOp", "MatmulOp",
    "DdrFifoOp", "EmbeddingOp",
]
