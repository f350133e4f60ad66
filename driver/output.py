"""Writing results: whole files atomically (never half-written), IR to stdout or `-o`."""

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp
from xdsl.printer import Printer

from dfcc.errors import DfccError


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_atomic(path: str, data: bytes | str) -> None:
    """Write `data` to `path` via a temporary file in the same folder and an atomic rename."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".dfcc-", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode() if isinstance(data, str) else data)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        raise DfccError(f"cannot write output: {error.strerror}", path) from None


def write_directory_atomic(path: str, fill: Callable[[Path], object]) -> Path:
    """Build a directory with `fill(tmp)` beside `path`, then move it into place in one rename.

    A failure while filling leaves `path` as it was; an existing directory is replaced whole.
    """
    target = Path(path).resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.dfcc-"))
    except OSError as error:
        raise DfccError(f"cannot write output: {error.strerror}", path) from None
    try:
        os.chmod(staging, 0o777 & ~_umask())
        fill(staging)
        if target.exists():
            retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired)
        else:
            os.replace(staging, target)
    except OSError as error:
        raise DfccError(f"cannot write output: {error.strerror}", path) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


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
