"""Weights as MLIR `dense_resource` blobs, converted to and from numpy.

torch-mlir writes every weight as a `dense_resource` whose blob (a hex string with a 4-byte
alignment header) lives in the file's `dialect_resources` section; xDSL keeps those blobs in the
builtin dialect's resource storage. dfcc keeps weights in that form too, so that large models print
and parse quickly, and new weights made by passes (folded batch-norm, quantized values) are new blobs.
"""

from collections.abc import Callable

import numpy as np
from xdsl.dialect_interfaces.op_asm import OpAsmDialectInterface
from xdsl.dialects.builtin import (
    Builtin,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    Float32Type,
    Float64Type,
    IntegerType,
    ModuleOp,
    TensorType,
    f32,
)

from dfcc.errors import DfccError

_ALIGNMENT_HEADER = (4).to_bytes(4, "little")
_decoded: dict[str, tuple[str, np.ndarray]] = {}  # handle -> (its blob's text, its array)


class _Blobs(dict):
    """xDSL's blob table (handle -> hex text), in which a blob made here (`make_resource`) is stored as
    its numpy array until something reads its text (printing the module): a ResNet-50's weights are
    made three times over (lowering, batch-norm folding, quantization), ~100 MB of hex text each time,
    and a compile to HLS prints none of them. xDSL reads the table through `[]` and `get` only."""

    def __getitem__(self, handle: str) -> str:
        stored = super().__getitem__(handle)
        if isinstance(stored, str):
            return stored
        text = blob_text(stored)
        self[handle] = text
        _decoded[handle] = (text, stored)
        return text

    def get(self, handle: str, default=None):
        return self[handle] if handle in self else default

    def stored(self, handle: str) -> str | np.ndarray | None:
        """The blob as stored (a made blob's array stays an array)."""
        return super().get(handle)


def blob_text(array: np.ndarray) -> str:
    """A blob's text as MLIR writes it: hex of the 4-byte alignment header, then the array's bytes."""
    return "0x" + (_ALIGNMENT_HEADER + array.tobytes()).hex().upper()


def _storage() -> OpAsmDialectInterface:
    interface = Builtin.get_interface(OpAsmDialectInterface)
    assert interface is not None
    if not isinstance(interface._blob_storage, _Blobs):
        interface._blob_storage = _Blobs(interface._blob_storage)
    return interface


def _numpy_dtype(element_type) -> np.dtype:
    if isinstance(element_type, Float32Type):
        return np.dtype("<f4")
    if isinstance(element_type, Float64Type):
        return np.dtype("<f8")
    if isinstance(element_type, IntegerType):
        width = element_type.width.data
        return np.dtype("bool") if width == 1 else np.dtype(f"<i{max(width // 8, 1)}")
    raise DfccError(f"constants of element type {element_type} are not supported")


def resource_array(attr: DenseResourceAttr) -> np.ndarray:
    """The numpy value of a dense_resource attribute (decoded once per blob)."""
    handle = attr.resource_handle.data
    blob = _storage()._blob_storage.stored(handle)
    if isinstance(blob, np.ndarray):  # made by make_resource, its text not read yet
        return blob
    if not blob:
        raise DfccError(f"dense_resource '{handle}' has no blob in the file's dialect_resources")
    cached = _decoded.get(handle)
    if cached is not None and cached[0] is blob:
        return cached[1]
    try:
        raw = bytes.fromhex(blob[2:])[4:]
    except ValueError:
        raise DfccError(f"dense_resource '{handle}': its blob is not whole hexadecimal bytes") from None
    shape = attr.type.get_shape()
    dtype = _numpy_dtype(attr.type.get_element_type())
    count, needed = len(raw) // dtype.itemsize, int(np.prod(shape))
    if len(raw) % dtype.itemsize or count not in (1, needed):
        raise DfccError(f"dense_resource '{handle}': its blob holds {len(raw)} bytes ({count} values), "
                        f"its type {attr.type} needs {needed}")
    array = np.frombuffer(raw, dtype=dtype)
    if array.size == 1 and needed != 1:
        array = np.broadcast_to(array, shape)  # MLIR stores a splat as a single element
    array = array.reshape(shape)
    _decoded[handle] = (blob, array)
    return array


def elements_array(attr) -> np.ndarray:
    """The numpy value of any dense elements attribute (dense<...> or dense_resource<...>)."""
    if isinstance(attr, DenseResourceAttr):
        return resource_array(attr)
    if isinstance(attr, DenseIntOrFPElementsAttr):
        shape = attr.get_shape() or ()
        values = np.array(attr.get_values(), dtype=_numpy_dtype(attr.get_element_type()))
        return values.reshape(shape) if values.size == int(np.prod(shape)) else np.broadcast_to(values.reshape(()), shape).copy()
    raise DfccError(f"expected a dense constant, got {attr}")


def make_resource(name: str, array: np.ndarray, element_type: Float32Type | IntegerType = f32) -> DenseResourceAttr:
    """A new dense_resource holding `array` (float32, or an integer type such as i8 for indices and
    bitmasks), under a unique handle derived from `name`."""
    array = np.array(array, dtype=_numpy_dtype(element_type), order="C")  # a copy the caller cannot change
    array.setflags(write=False)
    storage = _storage()
    handle = storage.declare_resource(f"dfcc_{name}")
    storage._blob_storage[handle] = array  # its text when read (_Blobs)
    return DenseResourceAttr.from_params(handle, TensorType(element_type, array.shape))


def isolate_resources(parse: Callable[[], ModuleOp]) -> ModuleOp:
    """Run `parse` so that the module's blobs cannot clash with blobs of modules parsed before.

    xDSL keeps blobs in one process-wide table and renames a repeated handle while parsing, which
    attaches the file's blob to the older module's handle. So the table is emptied while parsing,
    and handles of the new module that were already taken are renamed afterwards.
    """
    storage = _storage()
    stash = dict(storage._blob_storage)
    storage._blob_storage.clear()
    try:
        module = parse()
    finally:
        fresh = dict(storage._blob_storage)
        storage._blob_storage.clear()
        storage._blob_storage.update(stash)
    renames: dict[str, str] = {}
    taken = set(stash) | set(fresh)
    for handle, blob in fresh.items():
        new_handle = handle
        counter = 0
        while handle in stash and new_handle in taken:
            new_handle = f"{handle}_{counter}"
            counter += 1
        taken.add(new_handle)
        storage._blob_storage[new_handle] = blob
        if new_handle != handle:
            renames[handle] = new_handle
    if renames:
        for op in module.walk():
            for table in (op.properties, op.attributes):
                for key, attr in table.items():
                    if isinstance(attr, DenseResourceAttr) and attr.resource_handle.data in renames:
                        table[key] = DenseResourceAttr.from_params(renames[attr.resource_handle.data], attr.type)
    return module
