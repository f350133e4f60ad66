"""The lowering of linalg-on-tensors to dataflow nodes: `core.py` holds the walk and the handler
registry; each other module registers (`@lowers`) the handlers of the linalg ops that produce one
node kind (conv.py -> dataflow.conv, map.py -> dataflow.map, ...). Importing this package
registers them all."""

from dfcc.passes.lowering import (  # noqa: F401  (each registers its handlers)
    concat, constants, conv, gather, generic, linear, map, matmul, pool, reduce, reshape, sink,
)
from dfcc.passes.lowering.core import HANDLERS, Lowering, location, lowers

__all__ = ["HANDLERS", "Lowering", "location", "lowers"]
