"""The `hls` and `csim` targets of `dfcc -t` (registered in backends/targets.py)."""

from __future__ import annotations

import sys

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.reference import run_reference
from dfcc.analyses.small_pages import small_pages
from dfcc.backends.cpu.io import save_outputs
from dfcc.frontends.inputs import load_inputs, random_inputs
from dfcc.backends.hls.bounded import bounded_csim
from dfcc.backends.hls.csim import csim
from dfcc.backends.hls.emit import emit_design, main_function
from dfcc.backends.hls.project import write_project
from dfcc.backends.output import write_directory_atomic
from dfcc.errors import DfccError


def _inputs_for(module: ModuleOp, request) -> list[np.ndarray]:
    if request.input is not None:
        return load_inputs(request.input)
    return random_inputs(main_function(module), np.random.default_rng(0))


def run_hls(module: ModuleOp, request) -> None:
    """-t hls -o DIR: the Vitis HLS project, with testbench data (--input, or seeded random inputs)
    and the CPU reference's outputs as the expected results."""
    if request.output is None:
        raise DfccError("-t hls needs -o DIR for the project directory")
    with small_pages():  # the weights' words and ROM texts (analyses/small_pages.py)
        design = emit_design(module)
    inputs = _inputs_for(module, request)
    expected = run_reference(module, inputs)
    root = write_directory_atomic(request.output, lambda staging: write_project(design, staging, inputs=inputs,
                                                                                 expected=expected))
    print(f"dfcc: wrote the HLS project to {root} ({len(design.stages)} nodes); run: cd {root} && vitis_hls -f run_hls.tcl",
          file=sys.stderr)


def run_csim(module: ModuleOp, request) -> None:
    """-t csim --input x.npz -o y.npz: C simulation of the generated project, outputs as -t cpu writes them."""
    if request.input is None:
        raise DfccError("-t csim needs --input FILE.npz (keys arg0, arg1, ...) or FILE.npy")
    if request.output is None:
        raise DfccError("-t csim needs -o OUT.npz for the outputs")
    if request.options.get("bounded_fifos"):
        result = bounded_csim(module, load_inputs(request.input))
    else:
        result = csim(module, load_inputs(request.input))
    save_outputs(request.output, result.outputs)
    times = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    print(f"dfcc: C simulation done ({times})", file=sys.stderr)
