"""The outputs `dfcc -t TARGET` can produce, each a function of the final module and the request."""

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.reference import run_reference
from dfcc.backends.cpu.io import save_outputs
from dfcc.frontends.inputs import load_inputs
from dfcc.backends.estimate.report import run_estimate
from dfcc.backends.hls.target import run_csim, run_hls
from dfcc.backends.output import print_module
from dfcc.backends.quant_report import run_report
from dfcc.backends.request import TargetRequest
from dfcc.backends.simulate import run_simulate
from dfcc.errors import DfccError

__all__ = ["TARGETS", "Target", "TargetRequest", "get_target"]


@dataclass(frozen=True)
class Target:
    name: str
    help: str
    run: Callable[[ModuleOp, TargetRequest], None]


def _mlir(module: ModuleOp, request: TargetRequest) -> None:
    print_module(module, request.output)


def _cpu(module: ModuleOp, request: TargetRequest) -> None:
    if request.input is None:
        raise DfccError("-t cpu needs --input FILE.npz (keys arg0, arg1, ...) or FILE.npy")
    if request.output is None:
        raise DfccError("-t cpu needs -o OUT.npz for the outputs")
    save_outputs(request.output, run_reference(module, load_inputs(request.input)))


def _quant_report(module: ModuleOp, request: TargetRequest) -> None:
    run_report(module, request)


def _hls(module: ModuleOp, request: TargetRequest) -> None:
    run_hls(module, request)


def _csim(module: ModuleOp, request: TargetRequest) -> None:
    run_csim(module, request)


def _estimate(module: ModuleOp, request: TargetRequest) -> None:
    run_estimate(module, request)


def _simulate(module: ModuleOp, request: TargetRequest) -> None:
    run_simulate(module, request)


TARGETS: dict[str, Target] = {
    "mlir": Target("mlir", "print the IR after the pipeline (default)", _mlir),
    "cpu": Target("cpu", "run the numpy CPU reference: --input x.npz -o y.npz", _cpu),
    "estimate": Target("estimate", "cycles, throughput and resources per node (--json, --plot FILE.png)", _estimate),
    "hls": Target("hls", "Vitis HLS C++ project with testbench and run_hls.tcl: -o DIR [--input x.npz]", _hls),
    "csim": Target("csim", "C simulation of the HLS project with g++: --input x.npz -o y.npz", _csim),
    "simulate": Target("simulate", "cycle-level simulation: II, latency, stalls, FIFO occupancy, deadlocks "
                       "(--json, --plot FILE.png)", _simulate),
    "quant-report": Target("quant-report", "per-node number formats and quantization SQNR (after quantize; --json)",
                           _quant_report),
}


def get_target(name: str) -> Target:
    if name not in TARGETS:
        raise DfccError(f"unknown target '{name}'; available targets: {', '.join(TARGETS)}")
    return TARGETS[name]
