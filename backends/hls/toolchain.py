"""Compile and run C++ against the HLS kernel library with g++ (C simulation).

There is no Vitis HLS here: the kernels are checked by compiling them with g++ against the
`ap_types` headers (ap_fixed.h, hls_stream.h, ...) that ship with the hls4ml package.
The ap_types directory is passed with `-isystem` rather than `-I` because those vendor headers
warn under `-Wall -Wextra` themselves; our own headers (`-I include/`) must compile warning-free.
"""

import importlib.util
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dfcc.errors import DfccError

INCLUDE_DIR = Path(__file__).parent / "include"
CXXFLAGS = ["-std=c++14", "-O2", "-Wall", "-Wextra"]


def ap_types_dir() -> Path:
    """The ap_types include directory of the installed hls4ml package."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or spec.origin is None:
        raise DfccError("C simulation needs the hls4ml package (pip install 'dfcc[hls]') for ap_types")
    path = Path(spec.origin).parent / "templates" / "vivado" / "ap_types"
    if not (path / "ap_fixed.h").is_file():
        raise DfccError(f"hls4ml is installed but has no ap_types headers at {path}")
    return path


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
    cmd = ["g++", *CXXFLAGS, "-isystem", str(ap_types_dir()), "-I", str(INCLUDE_DIR),
           *extra_flags, str(source), "-o", str(binary)]
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
