"""Compile and run C++ against the HLS kernel library with g++ (C simulation).

There is no Vitis HLS here: the kernels are checked by compiling them with g++ against the
`ap_types` headers (ap_fixed.h, hls_stream.h, ...) that ship with the hls4ml package.
The ap_types directory is passed with `-isystem` rather than `-I` because those vendor headers
warn under `-Wall -Wextra` themselves; our own headers (`-I include/`) must compile warning-free.
"""

import hashlib
import importlib.util
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dfcc.errors import DfccError

INCLUDE_DIR = Path(__file__).parent / "include"
# -Og: a C simulation is a check, its build its cost (unet 8-bit top.cpp: g++ 10.1 CPU s at -Og, 13.4 at -O1, more at
# -O2; its run 0.86 s at -Og, 0.53 at -O1; -O0 builds fastest but runs 20x slower); Vitis HLS's csim builds unoptimised
CXXFLAGS = ["-std=c++14", "-Og", "-Wall", "-Wextra"]
PRECOMPILED = ("ap_fixed.h", "ap_int.h")  # parsed by every C simulation: ~1.5 s of g++ per translation unit


def ap_types_dir() -> Path:
    """The ap_types include directory of the installed hls4ml package."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or spec.origin is None:
        raise DfccError("C simulation needs the hls4ml package (pip install 'dfcc[hls]') for ap_types")
    path = Path(spec.origin).parent / "templates" / "vivado" / "ap_types"
    if not (path / "ap_fixed.h").is_file():
        raise DfccError(f"hls4ml is installed but has no ap_types headers at {path}")
    return path


def cache_dir() -> Path:
    """dfcc's cache folder (XDG): trained example models, precompiled headers."""
    return Path(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))) / "dfcc"


def precompiled_header() -> list[str]:
    """`-include` flags for the ap_types headers precompiled once per g++ version (built with CXXFLAGS),
    or none if they cannot be built. g++ silently parses the header itself when the .gch does not suit
    the translation unit (GCC manual, "Using Precompiled Headers"), so results never depend on it."""
    flags = [*CXXFLAGS, "-isystem", str(ap_types_dir())]
    version = subprocess.run(["g++", "-dumpfullversion"], capture_output=True, text=True).stdout.strip()
    key = hashlib.sha1(" ".join([version, str(ap_types_dir()), *flags]).encode()).hexdigest()[:16]
    header = cache_dir() / "pch" / key / "dfcc_ap_types.h"
    gch = header.with_name(header.name + ".gch")
    if not gch.is_file():
        try:
            header.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(header, "".join(f"#include <{name}>\n" for name in PRECOMPILED).encode())
            fd, partial = tempfile.mkstemp(dir=header.parent, suffix=".gch.part")
            os.close(fd)
            proc = subprocess.run(["g++", *flags, "-x", "c++-header", str(header), "-o", partial], capture_output=True)
            if proc.returncode != 0:
                os.unlink(partial)
                return []
            os.replace(partial, gch)  # atomic: parallel builds never read a half-written header
        except OSError:  # no writable cache: compile without it
            return []
    return ["-include", str(header)]


def _write_atomically(path: Path, data: bytes) -> None:
    fd, partial = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, path)


@dataclass
class Compiled:
    binary: Path
    diagnostics: str  # g++'s stderr (warnings), empty when clean

    def warnings_in(self, directory: Path) -> list[str]:
        """The warning lines g++ reported at a location inside `directory`."""
        prefix = str(directory.resolve())
        return [line for line in self.diagnostics.splitlines()
                if ": warning:" in line and str(Path(line.split(":", 1)[0]).resolve()).startswith(prefix)]


def compile_cpp(source: Path, binary: Path | None = None, extra_flags: list[str] = ()) -> Compiled:
    """Compile one C++ file into an executable; raise DfccError with g++'s messages on failure."""
    source = Path(source)
    binary = Path(binary) if binary else source.with_suffix("")
    cmd = ["g++", *CXXFLAGS, "-isystem", str(ap_types_dir()), *precompiled_header(), "-I", str(INCLUDE_DIR), *extra_flags, str(source), "-o", str(binary)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DfccError(f"g++ failed to compile {source}:\n{proc.stderr}")
    return Compiled(binary, proc.stderr)


def run(binary: Path, args: list[str] = (), stdin: str = "", timeout: float = 60) -> str:
    """Run a compiled C simulation binary and return its stdout; raise DfccError if it fails."""
    proc = subprocess.run([str(binary), *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise DfccError(f"{binary} {' '.join(args)} exited with {proc.returncode}:\n{proc.stderr}")
    return proc.stdout
