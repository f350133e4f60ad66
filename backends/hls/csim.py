"""C simulation (`dfcc -t csim`): the generated project compiled with g++ and run on given inputs.

The project is written to a temporary directory, removed afterwards (kept, and named in the error,
only when the build or the run fails), top.cpp and tb.cpp are compiled in parallel against the
ap_types headers hls4ml ships, and the testbench's outputs are read back in the -t cpu layout.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.reference import check_weights_on_grid
from dfcc.backends.hls import toolchain
from dfcc.backends.hls.emit import Design, emit_design
from dfcc.backends.hls.project import from_stream_order, write_project
from dfcc.errors import DfccError


@dataclass
class Build:
    binary: Path
    warnings: list[str]  # g++ warning lines located in the project's own (generated) files
    seconds: dict[str, float] = field(default_factory=dict)


def build(root: Path, extra_flags: tuple[str, ...] = ()) -> Build:
    """Compile top.cpp and tb.cpp (in parallel) and link the testbench; DfccError with g++'s
    messages (file:line in the generated files) if anything fails. `extra_flags` go first (they
    may put headers ahead of the project's) and to the link."""
    root = Path(root)
    flags = [*toolchain.CXXFLAGS, *extra_flags, "-isystem", str(toolchain.ap_types_dir()), *toolchain.precompiled_header(),
             "-I", str(root / "include"), "-I", str(root)]
    started = time.perf_counter()

    def compile_one(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(["g++", *flags, "-c", str(root / name), "-o", str(root / (name + ".o"))],
                              capture_output=True, text=True)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(compile_one, ["top.cpp", "tb.cpp"]))
    diagnostics = ""
    for name, proc in zip(["top.cpp", "tb.cpp"], results):
        diagnostics += proc.stderr
        if proc.returncode != 0:
            raise DfccError(f"g++ failed to compile the generated {root / name} (project kept in {root}):\n"
                            f"{_own_errors(proc.stderr, root)}")
    binary = root / "tb"
    link = subprocess.run(["g++", *extra_flags, str(root / "top.cpp.o"), str(root / "tb.cpp.o"), "-o", str(binary)],
                          capture_output=True, text=True)
    if link.returncode != 0:
        raise DfccError(f"linking the C simulation failed (project kept in {root}):\n{link.stderr}")
    prefix = str(root.resolve())
    warnings = [line for line in diagnostics.splitlines() if ": warning:" in line
                and str(Path(line.split(":", 1)[0]).resolve()).startswith(prefix)
                and "/include/dfcc/" not in line]
    return Build(binary, warnings, {"compile": time.perf_counter() - started})


def _own_errors(stderr: str, root: Path, limit: int = 60) -> str:
    """g++'s messages, the lines about the generated files first (vendor header noise trimmed)."""
    lines = stderr.splitlines()
    prefix = str(root.resolve())
    own = [line for line in lines if line.startswith(prefix) or line.startswith(str(root))]
    shown = own if own else lines
    text = "\n".join(shown[:limit])
    if len(shown) > limit:
        text += f"\n... ({len(shown) - limit} more lines)"
    return text


def run_testbench(binary: Path, data_dir: Path, timeout: float = 3600) -> str:
    try:
        proc = subprocess.run([str(binary), str(data_dir)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DfccError(f"the C simulation ran longer than {timeout:g} s (project kept in {binary.parent})") from None
    problems = [line for line in proc.stdout.splitlines() if "WARNING: Hls::stream" in line or line.startswith("ERROR")]
    if proc.returncode not in (0, 1) or problems:
        raise DfccError(f"the C simulation failed (exit {proc.returncode}; project kept in {binary.parent}):\n"
                        + "\n".join((problems or proc.stdout.splitlines())[:20]) + proc.stderr[-2000:])
    return proc.stdout


@dataclass
class CsimResult:
    outputs: list[np.ndarray]
    log: str
    seconds: dict[str, float]
    warnings: list[str]


def csim(module: ModuleOp, inputs: list[np.ndarray], expected: list[np.ndarray] | None = None,
         keep: str | Path | None = None) -> CsimResult:
    """Generate, build and run the C simulation of `module` on `inputs` (PyTorch layout)."""
    started = time.perf_counter()
    check_weights_on_grid(module)
    design = emit_design(module)
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="dfcc_csim_"))
    named = False  # a failed build or run keeps the project and names it in the error
    try:
        write_project(design, root, inputs=inputs, expected=expected, tcl=False)
        seconds = {"generate": time.perf_counter() - started}
        try:
            result = build(root)
            started = time.perf_counter()
            log = run_testbench(result.binary, root / "tb_data")
        except DfccError:
            named = True
            raise
        seconds.update(result.seconds)
        seconds["run"] = time.perf_counter() - started
        outputs = read_outputs(design, root / "tb_data")
    finally:
        if keep is None and not named:
            shutil.rmtree(root, ignore_errors=True)
    return CsimResult(outputs, log, seconds, result.warnings)


def read_outputs(design: Design, data_dir: Path) -> list[np.ndarray]:
    outputs = []
    for port in design.outputs:
        path = data_dir / f"{port.name}.out.bin"
        if not path.is_file():
            raise DfccError(f"the C simulation wrote no {path}")
        outputs.append(from_stream_order(np.fromfile(path, dtype="<f4"), port))
    return outputs
