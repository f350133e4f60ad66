"""Bounded-FIFO C simulation (`dfcc -t csim --bounded-fifos`): the generated C++ with every stream
at its STREAM pragma depth, blocking reads and writes, and every stage on its own thread.

Plain C simulation runs the stages one after another over unbounded streams, so a FIFO too shallow
for a skip connection passes there and hangs on the board. Here the project is built with
include/bounded/hls_stream.h ahead of the vendor's (bounded, thread-safe streams and a deadlock
watchdog) and DFCC_BOUNDED_FIFOS (include/dfcc/tasks.h: DFCC_TASK runs a stage on a thread); the
top function's streams get their depths and its stage calls become tasks. A deadlock is reported
by stream name.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dfcc.backends.hls.csim import CsimResult, build, read_outputs
from dfcc.backends.hls.emit import Emitter
from dfcc.backends.hls.project import write_project
from dfcc.backends.hls.toolchain import INCLUDE_DIR
from dfcc.errors import DfccError

BOUNDED_HEADERS = INCLUDE_DIR / "bounded"
DEADLOCK_EXIT = 3  # bounded/hls_stream.h's exit code when its watchdog sees a deadlock


def threaded_top(top_cpp: str, emitter: Emitter) -> str:
    """top.cpp with each stream constructed at its pragma depth and each stage call a task."""
    edits = [(f'{s.cpp} {s.name}("{s.name}");', f'{s.cpp} {s.name}("{s.name}", {s.depth});') for s in emitter.decls]
    first = True
    for call in emitter.calls:
        if call.startswith("//"):
            continue
        statement, semicolon, comment = call.partition(";")
        edits.append(("    " + call, ("    DFCC_TASKS;\n" if first else "") + f"    DFCC_TASK({statement}){semicolon}{comment}"))
        first = False
    for old, new in edits:
        if old not in top_cpp:
            raise DfccError(f"bounded C simulation: cannot find `{old.strip()}` in the generated top.cpp")
        top_cpp = top_cpp.replace(old, new, 1)
    return top_cpp


def bounded_csim(module: ModuleOp, inputs: list[np.ndarray], expected: list[np.ndarray] | None = None,
                 timeout: float = 3600) -> CsimResult:
    """Generate, build and run the bounded-FIFO C simulation; DfccError naming the streams on deadlock."""
    started = time.perf_counter()
    emitter = Emitter(module)
    design = emitter.run()
    design.files["top.cpp"] = threaded_top(design.files["top.cpp"], emitter)
    root = Path(tempfile.mkdtemp(prefix="dfcc_bounded_csim_"))
    write_project(design, root, inputs=inputs, expected=expected, tcl=False)
    shutil.copytree(BOUNDED_HEADERS, root / "bounded")
    seconds = {"generate": time.perf_counter() - started}
    result = build(root, ("-DDFCC_BOUNDED_FIFOS", "-pthread", "-I", str(root / "bounded")))
    seconds.update(result.seconds)
    started = time.perf_counter()
    proc = subprocess.run([str(result.binary), str(root / "tb_data")], capture_output=True, text=True, timeout=timeout)
    seconds["run"] = time.perf_counter() - started
    waits = [line.removeprefix("DEADLOCK ") for line in proc.stdout.splitlines() if line.startswith("DEADLOCK ")]
    if proc.returncode == DEADLOCK_EXIT and waits:
        shutil.rmtree(root, ignore_errors=True)
        full = [w for w in waits if " full," in w]  # the cause: a writer stuck on a full FIFO
        raise DfccError("bounded C simulation: the design deadlocks; every stage waits on a stream:\n"
                        + "\n".join(f"  {w}" for w in full + [w for w in waits if w not in full])
                        + "\n(deepen the full FIFOs in the IR, or run explore to size them)")
    problems = [line for line in proc.stdout.splitlines() if line.startswith("ERROR")]
    if proc.returncode not in (0, 1) or problems:
        raise DfccError(f"the bounded C simulation failed (exit {proc.returncode}; project kept in {root}):\n"
                        + "\n".join((problems or proc.stdout.splitlines())[:20]) + proc.stderr[-2000:])
    outputs = read_outputs(design, root / "tb_data")
    shutil.rmtree(root, ignore_errors=True)
    return CsimResult(outputs, proc.stdout, seconds, result.warnings)
