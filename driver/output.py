"""Writing results: whole files atomically (never half-written), IR to stdout or `-o`."""

import os
import sys
import tempfile

from xdsl.dialects.builtin import ModuleOp
from xdsl.printer import Printer

from dfcc.errors import DfccError


def write_atomic(path: str, data: bytes | str) -> None:
    """Write `data` to `path` via a temporary file in the same folder and an atomic rename."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".dfcc-", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode() if isinstance(data, str) else data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as error:
        raise DfccError(f"cannot write output: {error.strerror}", path) from None


def module_text(module: ModuleOp) -> str:
    import io

    from xdsl.dialects.builtin import Builtin

    buffer = io.StringIO()
    printer = Printer(stream=buffer)
    printer.print_op(module)
    buffer.write("\n")
    printer.print_metadata([Builtin])
    return buffer.getvalue()


def print_module(module: ModuleOp, output: str | None) -> None:
    text = module_text(module)
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
