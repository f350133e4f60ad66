"""Property-based tests (Hypothesis): random mutations of valid IR files never crash dfcc.

For every mutated file and every target: the exit code is 0 or 1 (a user error, never an internal
error or a traceback), no file outside the requested output is created, changed or deleted, and a
second run gives the same exit code, messages and output bytes. Seeded (derandomize) and bounded.
"""

import contextlib
import io
import re
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dfcc.driver.cli import main as dfcc_main
from tests.bad_input_models import DATAFLOW, LINALG

ROOT = Path(__file__).resolve().parent.parent
# name: (text, pipeline, input shape)
CORPUS = {
    "linalg": (LINALG, ["-p", "lower-to-dataflow"], (1, 2, 2, 2)),
    "dataflow": (DATAFLOW, [], (1, 2, 4, 4)),
    "residual": ((ROOT / "lit_tests/hls/conv_relu_residual.mlir").read_text(), [], None),
}
NUMBER = re.compile(r"(?<![\w.#%@])-?\d+(?![\w.])")
NUMBERS = ["0", "-1", "-8", "3", "7", str(2**62), str(2**64), str(10**30), "1.5", "nan"]
TOKENS = ['"', "{", "}", "]", "<", ">", "0x", "\\", "%0", ":", "f16", "index", "i1", "dense<1.0>", "\n", "\xff"]


def _mutate(text: str, kind: str, where: int, choice: int) -> str:
    lines = text.splitlines(keepends=True)
    if kind == "number":
        matches = list(NUMBER.finditer(text))
        match = matches[where % len(matches)]
        return text[:match.start()] + NUMBERS[choice % len(NUMBERS)] + text[match.end():]
    if kind == "delete-line":
        return "".join(lines[:where % len(lines)] + lines[where % len(lines) + 1:])
    if kind == "duplicate-line":
        k = where % len(lines)
        return "".join(lines[:k] + [lines[choice % len(lines)]] + lines[k:])
    if kind == "truncate":
        return text[:where % len(text)]
    position = where % len(text)
    return text[:position] + TOKENS[choice % len(TOKENS)] + text[position:]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(root.rglob("*"))}


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = dfcc_main(argv)
    return code, out.getvalue(), err.getvalue()


def _same_run(snapshot: dict[str, bytes]) -> dict[str, bytes]:
    """Output files up to the numbering of weight blob handles, which counts the modules parsed
    before in the same process (a fresh dfcc process always prints the same names)."""
    return {path: re.sub(rb"_\d+\b", b"", data) for path, data in snapshot.items()}


@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(CORPUS)),
       kind=st.sampled_from(["number", "delete-line", "duplicate-line", "truncate", "insert"]),
       where=st.integers(0, 10**6), choice=st.integers(0, 100))
def test_mutated_ir_is_a_clear_error_or_works(name, kind, where, choice):
    text, pipeline, shape = CORPUS[name]
    mutated = _mutate(text, kind, where, choice)
    with tempfile.TemporaryDirectory(prefix="dfcc_fuzz_") as folder:
        work = Path(folder)
        (work / "m.mlir").write_bytes(mutated.encode().replace("\xff".encode(), b"\xff"))
        np.save(work / "x.npy", np.linspace(-2, 2, int(np.prod(shape or (1,))), dtype=np.float32).reshape(shape or (1,)))
        for target, output in (("mlir", "out.mlir"), ("estimate", "out.txt"), ("cpu", "out.npz"), ("hls", "prj")):
            argv = [str(work / "m.mlir"), *pipeline, "-t", target, "-o", str(work / output)]
            if target == "cpu":
                argv += ["--input", str(work / "x.npy")]
            before = _snapshot(work)
            first = _run(argv)
            produced = _snapshot(work)
            assert first[0] in (0, 1), f"{target}: exit {first[0]}: {first[2]}\n--- input ---\n{mutated}"
            assert "Traceback" not in first[2] and "internal error" not in first[2]
            changed = {p for p in before.keys() | produced.keys() if before.get(p) != produced.get(p)}
            assert all(p == output or p.startswith(output + "/") for p in changed), changed
            assert _run(argv)[0::2] == first[0::2], "a second run differs"
            assert _same_run(_snapshot(work)) == _same_run(produced), "a second run wrote different output"
