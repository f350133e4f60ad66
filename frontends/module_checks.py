"""Checks of a whole module that no single op's verifier can make, run on every module dfcc reads
and after every pass, so that every backend can trust a module that passed them.

- node names are unique (reports, overrides and the HLS code address nodes by name);
- every stream has exactly one reader (a FIFO has one consumer: copies go through dataflow.fork,
  and a stream nobody reads would stall the pipeline);
- every dense_resource blob exists and holds exactly the values its type promises;
- linalg window ops have positive strides and dilations (xDSL's verifier accepts 0 and -1);
- `index` constants fit in 64 bits (xDSL parses any size; numpy, like MLIR, cannot hold more);
- every region is one block: dfcc compiles straight-line models, without control flow;
- a static tensor.pad's result shape is its source's plus the padding (xDSL 0.74 does not check).
"""

from xdsl.dialects.builtin import DenseResourceAttr, IndexType, IntegerAttr, ModuleOp
from xdsl.dialects.tensor import PadOp
from xdsl.ir import Operation

from dfcc.dialects.dataflow import NodeOp, StreamType
from dfcc.dialects.resources import resource_array
from dfcc.errors import DfccError


_POSITIVE_LINALG_ATTRIBUTES = ("strides", "dilations")


def check_module(module: ModuleOp) -> None:
    """Raise DfccError ("invalid IR: ...") naming the first problem found."""
    first_of: dict[str, str] = {}
    for op in module.walk():
        if any(len(region.blocks) > 1 for region in op.regions):
            raise DfccError(f"invalid IR: {op.name} has a region of several blocks; dfcc compiles straight-line "
                            "models without control flow")
        for attr in (*op.properties.values(), *op.attributes.values()):
            if isinstance(attr, DenseResourceAttr):
                _check_blob(attr)
            if isinstance(attr, IntegerAttr) and isinstance(attr.type, IndexType) and not -2**63 <= attr.value.data < 2**63:
                raise DfccError(f"invalid IR: {op.name} has the index value {attr.value.data}, beyond 64 bits")
        for key in _POSITIVE_LINALG_ATTRIBUTES:
            values = op.attributes.get(key) or op.properties.get(key)
            if op.name.startswith("linalg.") and values is not None and min(values.get_values(), default=1) < 1:
                raise DfccError(f"invalid IR: {op.name} has {key} {tuple(values.get_values())}; they must be positive")
        _check_pad(op)
        if not isinstance(op, NodeOp):
            continue
        name = op.node_name.data
        if name in first_of:
            raise DfccError(f"invalid IR: two nodes are named '{name}' ({first_of[name]} and {op.name}); "
                            "node names must be unique")
        first_of[name] = op.name
        for index, result in enumerate(op.results):
            readers = len(list(result.uses))
            if isinstance(result.type, StreamType) and readers != 1:
                problem = "is never read" if readers == 0 else f"is read {readers} times (copy it with dataflow.fork)"
                raise DfccError(f"invalid IR: stream {index} of {op.name} '{name}' {problem}; "
                                "every stream needs exactly one reader")


def _check_blob(attr: DenseResourceAttr) -> None:
    try:
        resource_array(attr)
    except DfccError as error:
        raise DfccError(f"invalid IR: {error.message}") from None


def _check_pad(op: Operation) -> None:
    if isinstance(op, PadOp) and not op.low and not op.high:
        source, result = op.source.type.get_shape(), op.result.type.get_shape()
        padded = tuple(n + lo + hi for n, lo, hi in zip(source, op.static_low.get_values(), op.static_high.get_values()))
        if -1 not in source + result and padded != result:
            raise DfccError(f"invalid IR: tensor.pad of {source} by low {tuple(op.static_low.get_values())} high "
                            f"{tuple(op.static_high.get_values())} gives {padded}, but its result type says {result}")
