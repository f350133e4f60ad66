"""Writing results without ever destroying what dfcc did not create.

Rules (README, "Output safety"): a file output is written whole (temporary file + rename) or not at
all, and a special file (/dev/null, a fifo) is written into, never replaced; a directory output
(`-t hls -o DIR`) is built beside DIR and swapped in, and only replaces an empty directory or a
project dfcc wrote (marked by PROJECT_MARKER); no output may be the current directory, one of its
parents, an input, or a directory holding an input; every temporary is removed on every error path.
"""

import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp
from xdsl.printer import Printer

from dfcc.errors import DfccError

PROJECT_MARKER = ".dfcc-project"


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _cannot_write(error: OSError, path: str) -> DfccError:
    return DfccError(f"cannot write output: {error.strerror or error}", path)


def refuse_unsafe_output(path: str, inputs: Iterable[str | None] = ()) -> None:
    """Refuse `path` as an output when writing it would destroy the current directory, one of its
    parents, one of `inputs` or a directory holding one (`-o .`, `-o ..`, `-o ''`, `-o model.mlir`)."""
    if path == "-":
        return
    if not path.strip():
        raise DfccError("the output path is empty")
    _check_name_lengths(Path(os.path.abspath(path)))
    target = Path(path).resolve()
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise DfccError("refusing to write over the current directory or one of its parents; name a new path", path)
    for given in inputs:
        if given is None or given == "-":
            continue
        source = Path(given).resolve()
        if target == source or target in source.parents:
            raise DfccError(f"refusing to write over the input '{given}'; name another output path", path)


def _check_name_lengths(target: Path) -> None:
    """A clear error for a name longer than the file system allows (before any temporary is made)."""
    try:
        limit = os.pathconf(next(p for p in target.parents if p.is_dir()), "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in target.parts:
        if len(os.fsencode(part)) > limit:
            raise DfccError(f"the output name '{part[:40]}...' is {len(os.fsencode(part))} bytes long; "
                            f"this file system allows {limit}")


def write_atomic(path: str, data: bytes | str) -> None:
    """Write `data` to `path` whole or not at all (temporary file in the same folder, then rename).

    A symbolic link keeps pointing where it did (its target is replaced); a device or fifo is
    written into, never replaced."""
    payload = data.encode() if isinstance(data, str) else data
    _check_name_lengths(Path(os.path.abspath(path)))
    real = os.path.realpath(path)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise _cannot_write(error, path) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise DfccError("the output is an existing directory; name a file", path)
    if mode is not None and not stat.S_ISREG(mode):
        try:
            with open(real, "wb") as stream:
                stream.write(payload)
        except OSError as error:
            raise _cannot_write(error, path) from None
        return
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(real), prefix=".dfcc-", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, real)
        temporary = None
    except OSError as error:
        raise _cannot_write(error, path) from None
    finally:
        if temporary is not None:
            os.unlink(temporary)


def write_directory_atomic(path: str, fill: Callable[[Path], object]) -> Path:
    """Build a directory with `fill(tmp)` beside `path`, mark it as dfcc's, move it into place by rename.

    Refuses anything but a new path, an empty directory or a directory dfcc wrote before; a failure
    leaves `path` as it was and removes the temporaries and any parent folders it created."""
    refuse_unsafe_output(path)
    target = Path(os.path.abspath(path))
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise DfccError("the output exists and is not a directory; dfcc writes the project as a directory", path)
    if target.is_dir() and any(target.iterdir()) and not (target / PROJECT_MARKER).is_file():
        raise DfccError(f"refusing to replace a non-empty directory that dfcc did not write (no {PROJECT_MARKER} "
                        "in it); name a new or empty directory", path)
    created = [p for p in reversed(target.parents) if not p.exists()]
    staging = retired = None
    done = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".dfcc-", suffix=".tmp"))
        os.chmod(staging, 0o777 & ~_umask())
        fill(staging)
        (staging / PROJECT_MARKER).write_text("written by dfcc; dfcc may replace this directory\n")
        if target.exists():
            retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=".dfcc-", suffix=".tmp"))
            os.replace(target, retired / "old")
            try:
                os.replace(staging, target)
            except OSError:
                os.replace(retired / "old", target)
                raise
        else:
            os.replace(staging, target)
        staging, done = None, True
    except OSError as error:
        raise _cannot_write(error, path) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and (done or not (retired / "old").exists()):  # never lose an old project
            shutil.rmtree(retired, ignore_errors=True)
        if not done:
            for folder in reversed(created):
                try:
                    folder.rmdir()
                except OSError:
                    break
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


def without_weights(text: str) -> str:
    """Printed IR without its resource blobs and the handles naming them (they count up per parse and per
    process): the same text for two runs that made the same design."""
    return re.sub(r"dense_resource<[^>]*>", "dense_resource<>", text.split("{-#", 1)[0])


def print_module(module: ModuleOp, output: str | None) -> None:
    text = module_text(module)
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
