"""Where each parsed op came from (file and line), for diagnostics.

xDSL keeps no source location on ops, and torch-mlir prints none, so the MLIR reader records the
line each op starts on here. Ops built later (rewrites, new nodes) simply have no entry.
"""

from weakref import WeakKeyDictionary

from xdsl.ir import Operation

_LINES: "WeakKeyDictionary[Operation, tuple[str, int]]" = WeakKeyDictionary()


def remember_line(op: Operation, filename: str, line: int) -> None:
    _LINES[op] = (filename, line)


def source_line(op: Operation) -> str | None:
    """`file:line` of the op in the text it was parsed from, if known."""
    found = _LINES.get(op)
    return f"{found[0]}:{found[1]}" if found else None
