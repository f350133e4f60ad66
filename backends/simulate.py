"""`dfcc -t simulate`: the cycle-level simulation of the design beside the estimate.

A rich table (or JSON with --json) of II, first-inference latency, per-stage stall cycles and
per-FIFO peak occupancy, on stdout or in the -o file; --plot FILE.png draws FIFO occupancy against
depth and each stage's stalls. A design that deadlocks is an error (exit 1) naming the stages and
the FIFOs they wait on.
"""

from __future__ import annotations

import io
import json
import sys

from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.simulation import DEFAULT_INFERENCES, SimulationResult, simulate
from dfcc.backends.estimate import Estimate
from dfcc.backends.output import write_atomic
from dfcc.errors import DfccError


def _deviation(estimate: float, simulated: float) -> float:
    return (estimate - simulated) / simulated if simulated else 0.0


def to_json(sim: SimulationResult, est: Estimate) -> dict:
    t = est.totals
    return {
        "inferences": sim.inferences,
        "ii_cycles": sim.ii,
        "latency_cycles": sim.latency,
        "completions": list(sim.completions),
        "estimate": {"ii_cycles": t.ii, "latency_cycles": int(t.latency_cycles),
                     "ii_deviation": _deviation(t.ii, sim.ii), "latency_deviation": _deviation(t.latency_cycles, sim.latency)},
        "stages": [{"name": s.name, "node": s.node, "iterations": s.iterations, "starved": s.starved,
                    "blocked": s.blocked} for s in sim.stages],
        "fifos": [{"name": f.name, "from": f.writer, "to": f.reader, "depth": f.depth, "lanes": f.lanes,
                   "peak": f.peak} for f in sim.fifos],
    }


def render_table(sim: SimulationResult, est: Estimate, width: int | None = None) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 140, force_terminal=False, color_system=None)
    stages = Table(title=f"dfcc simulation: {sim.inferences} inferences back to back")
    for col, justify in [("stage", "left"), ("node", "left"), ("iterations", "right"), ("of II", "right"),
                         ("starved", "right"), ("blocked", "right")]:
        stages.add_column(col, justify=justify)
    for s in sim.stages:
        stages.add_row(s.name, s.node, f"{s.iterations:,}", f"{s.iterations / sim.ii:.0%}", f"{s.starved:,}",
                       f"{s.blocked:,}")
    console.print(stages)
    fifos = Table(title="FIFOs (depth and peak occupancy in beats)")
    for col, justify in [("stream", "left"), ("from", "left"), ("to", "left"), ("lanes", "right"),
                         ("depth", "right"), ("peak", "right")]:
        fifos.add_column(col, justify=justify)
    for f in sim.fifos:
        fifos.add_row(f.name, f.writer, f.reader, str(f.lanes), f"{f.depth:,}", f"{f.peak:,}")
    console.print(fifos)
    t = est.totals
    summary = Table.grid(padding=(0, 2))
    summary.add_column()
    summary.add_column(justify="right")
    summary.add_column(justify="right")
    summary.add_row("", "simulated", "estimate")
    summary.add_row("initiation interval", f"{sim.ii:,} cycles", f"{t.ii:,} ({_deviation(t.ii, sim.ii):+.1%})")
    summary.add_row("first-inference latency", f"{sim.latency:,} cycles",
                    f"{t.latency_cycles:,.0f} ({_deviation(t.latency_cycles, sim.latency):+.1%})")
    console.print(summary)
    return buffer.getvalue()


def plot(sim: SimulationResult, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8, 0.22 * max(len(sim.fifos), len(sim.stages)) + 4), 9))
    x = range(len(sim.fifos))
    ax1.bar(x, [f.depth for f in sim.fifos], color="lightgray", label="depth")
    ax1.bar(x, [f.peak for f in sim.fifos], color="tab:blue", label="peak occupancy")
    ax1.set_yscale("symlog")
    ax1.set_ylabel("beats")
    ax1.set_xticks(list(x))
    ax1.set_xticklabels([f.name for f in sim.fifos], rotation=90, fontsize="x-small")
    ax1.legend()
    ax1.set_title(f"dfcc simulation: II {sim.ii:,} cycles, latency {sim.latency:,} cycles")
    x = range(len(sim.stages))
    ax2.bar(x, [s.starved for s in sim.stages], color="tab:orange", label="starved (input empty)")
    ax2.bar(x, [s.blocked for s in sim.stages], bottom=[s.starved for s in sim.stages], color="tab:red",
            label="blocked (output full)")
    ax2.set_ylabel(f"stall cycles over {sim.inferences} inferences")
    ax2.set_xticks(list(x))
    ax2.set_xticklabels([s.name for s in sim.stages], rotation=90, fontsize="x-small")
    ax2.legend()
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=120)
    plt.close(fig)
    write_atomic(path, image.getvalue())


def run_simulate(module: ModuleOp, request) -> None:
    """The `simulate` target."""
    sim = simulate(module, int(request.options.get("inferences", DEFAULT_INFERENCES)))
    if sim.deadlock:
        raise DfccError(f"simulate: {sim.describe_deadlock()}\n(deepen the full FIFOs in the IR, or run explore "
                        "to size them)")
    est = Estimate.of_module(module)
    if request.plot:
        plot(sim, request.plot)
    text = json.dumps(to_json(sim, est), indent=2) + "\n" if request.json else render_table(sim, est)
    if request.output is None or request.output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(request.output, text)
