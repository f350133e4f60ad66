"""Golden outputs of every small bundled example model, to prove refactors change no behaviour.

For each model (float, and quantized to 8 bits): the `-t cpu` outputs, `-t estimate --json` after
`explore` for ZCU102 and U250, and the `-t hls` project files after exploring for ZCU102. Everything
runs through the `dfcc` command line in-process, each stage reading the IR the previous one printed.
Everything is stored as sha256 digests (the repo stays small); each estimate also keeps its
headline numbers so that a difference says what moved. Float results (the float model's cpu outputs and
its testbench's expected outputs) are stored as a sketch compared within a tolerance instead: their last
bits depend on the machine's BLAS kernels (the same wheel sums in another order on AVX-512 than on AVX2),
so a digest of them would fail on another CPU while nothing in dfcc changed.

Regenerate (after a deliberate change, naming it in the commit):
    python -m tests.golden.regenerate [MODEL ...]
"""

import hashlib
import json
import tempfile
from contextlib import redirect_stderr
from io import StringIO
from pathlib import Path

import numpy as np

GOLDEN_FILE = Path(__file__).with_name("outputs.json")
BOARDS = ("zcu102", "u250")
VARIANTS = {"float": "", "q8": "quantize{weight-bits=8 act-bits=8}"}


SKETCH_PROJECTIONS = 8
# a float result matches when its shape does and its sketch is within this share of its rms: BLAS kernels differ
# by rounding (~1e-6 relative after a few layers), any change of dfcc's results moves it far more
SKETCH_TOLERANCE = 1e-4


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _array_sha(values: np.ndarray) -> str:
    return _sha(np.ascontiguousarray(values).tobytes())


def float_sketch(values: np.ndarray) -> dict:
    """Shape, rms and a few fixed random projections of a float result: what it is, up to rounding."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    directions = np.random.default_rng(0).standard_normal((SKETCH_PROJECTIONS, flat.size))
    return {"shape": list(np.shape(values)), "rms": float(np.sqrt(np.mean(flat ** 2))) if flat.size else 0.0,
            "sketch": (directions @ flat / np.sqrt(max(flat.size, 1))).tolist()}


def same_float(expected: dict, actual: dict) -> bool:
    """Whether two float sketches describe the same result up to the machine's rounding."""
    scale = SKETCH_TOLERANCE * max(expected["rms"], 1e-6)
    return (expected["shape"] == actual["shape"] and abs(expected["rms"] - actual["rms"]) <= scale
            and all(abs(e - a) <= scale for e, a in zip(expected["sketch"], actual["sketch"], strict=True)))


def _project_file_digest(path: Path, results_digest) -> str | dict:
    """An HLS project file's digest; its testbench's expected outputs (float32) as `results_digest` takes the
    model's results."""
    if path.name.endswith(".expected.bin"):
        return results_digest(np.fromfile(path, "<f4"))
    return _sha(path.read_bytes())


def _dfcc(*argv: str) -> None:
    from dfcc.driver.cli import run

    with redirect_stderr(StringIO()):
        run(list(argv))


def _model_mlir(name: str, work: Path) -> tuple[Path, Path]:
    """The model imported from PyTorch (linalg text) and seeded inputs, as files."""
    from dfcc.backends.output import module_text
    from dfcc.examples.models import MODELS
    from dfcc.frontends.torch import import_module

    spec = MODELS[name]
    inputs = spec.inputs()
    source = work / f"{name}.mlir"
    source.write_text(module_text(import_module(spec.build(), *inputs)))
    npz = work / "x.npz"
    np.savez(npz, **{f"arg{i}": x.numpy() for i, x in enumerate(inputs)})
    return source, npz


def compute(name: str) -> dict:
    """Every golden output of one model."""
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, inputs = _model_mlir(name, work)
        lowered = work / "float.mlir"
        _dfcc(str(source), "-p", "lower-to-dataflow", "-o", str(lowered))
        for variant, pipeline in VARIANTS.items():
            design = work / f"{variant}.mlir"
            if pipeline:
                _dfcc(str(lowered), "-p", pipeline, "-o", str(design))
            else:
                design = lowered
            outputs = work / f"{variant}.npz"
            _dfcc(str(design), "-t", "cpu", "--input", str(inputs), "-o", str(outputs))
            digest = _array_sha if pipeline else float_sketch  # the float model's results: up to rounding
            with np.load(outputs) as data:
                cpu = {key: digest(data[key]) for key in sorted(data.files)}
            entry: dict = {"cpu": cpu}
            for board in BOARDS:
                explored = work / f"{variant}.{board}.mlir"
                _dfcc(str(design), "-p", f"explore{{platform={board}}}", "-o", str(explored))
                estimate = work / f"{variant}.{board}.json"
                _dfcc(str(explored), "-t", "estimate", "--json", "-o", str(estimate))
                report = json.loads(estimate.read_text())
                entry[f"estimate_{board}"] = {
                    "sha256": _sha(estimate.read_bytes()),
                    **{key: report[key] for key in ("ii_cycles", "latency_cycles", "resources")},
                }
                if board == BOARDS[0]:
                    project = work / f"{variant}.hls"
                    _dfcc(str(explored), "-t", "hls", "--input", str(inputs), "-o", str(project))
                    entry["hls"] = {str(path.relative_to(project)): _project_file_digest(path, digest)
                                    for path in sorted(project.rglob("*")) if path.is_file()}
            result[variant] = entry
    return result


def golden_models() -> list[str]:
    """Every example not marked slow (ImageNet-size ones take minutes each)."""
    from dfcc.examples.models import MODELS

    return [name for name, spec in MODELS.items() if not spec.slow]


# The models the test suite checks by default (~5 s each): together they reach every node kind.
# DFCC_GOLDEN=all checks every model in outputs.json.
CI_MODELS = ("cnn", "basic_block_strided", "dwsep", "yolo_tiny", "unet", "conv_pad_reflect", "conv_groups2",
             "vit_block", "llama_block", "mobilenet_v3_small_tiny", "multi_io")


def load() -> dict:
    return json.loads(GOLDEN_FILE.read_text())
