"""Whether a module's stream depths are the ones FIFO sizing found for its design, so that they are the design's.

The IR writes a stream at the default depth the same whether the sizing found that depth enough or nothing sized
it, and the estimate costs an unsized stream at the depth its model says the design needs. The explore pass marks
the module with its design's fingerprint once it has written the sized depths: everything the sizing's schedule
depends on (each node's kind, properties and attributes, its operands' producers, its streams but for their depth
and memory, which the sizing and the FIFO placement write). Any later change to the design (another pass, a hand
edit) changes the fingerprint, and the mark no longer holds: the estimate then costs its own depths again.
"""

from __future__ import annotations

import hashlib

from xdsl.dialects.builtin import ModuleOp, StringAttr

from dfcc.dialects.dataflow import SIZED_ATTR, StreamType
from dfcc.kinds.cost import is_node


def design_fingerprint(module: ModuleOp) -> str:
    """A digest of what the sized depths depend on (module docstring)."""
    digest = hashlib.sha256()
    ops = [op for op in module.walk() if is_node(op)]
    index = {op: i for i, op in enumerate(ops)}
    for op in ops:
        digest.update(repr((
            op.name, sorted((k, str(v)) for k, v in op.properties.items()),
            sorted((k, str(v)) for k, v in op.attributes.items()),
            [(index.get(v.owner, -1), _stream_key(v.type)) for v in op.operands],
            [_stream_key(r.type) for r in op.results])).encode())
    return digest.hexdigest()[:16]


def _stream_key(t) -> str:
    if isinstance(t, StreamType):
        return str((t.get_shape(), str(t.element_type), t.tile.data, t.block.data))
    return str(t)


def mark_sized(module: ModuleOp) -> None:
    """Record that the module's stream depths are those sized for its design as it is now."""
    module.attributes[SIZED_ATTR] = StringAttr(design_fingerprint(module))


def drop_sized(module: ModuleOp) -> None:
    """The design is about to change: its depths are no longer known to be sized."""
    module.attributes.pop(SIZED_ATTR, None)


def depths_sized(module: ModuleOp) -> bool:
    """Whether the module's stream depths were sized for its design as it is now."""
    mark = module.attributes.get(SIZED_ATTR)
    return isinstance(mark, StringAttr) and mark.data == design_fingerprint(module)
