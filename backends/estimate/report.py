"""`dfcc -t estimate`: the cycle and resource estimate of the design the IR describes.

A rich table (or JSON with --json) on stdout or in the -o file; remarks go to stderr so the JSON
pipes into jq. --plot FILE.png draws per-node cycles against the bottleneck and resources per node.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass

from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.network import RESOURCE_LABELS, RESOURCES, Network, Totals, recorded_platform
from dfcc.backends.output import write_atomic
from dfcc.errors import remark
from dfcc.hardware.cycles import throughput
from dfcc.hardware.offchip import gbps
from dfcc.hardware.platforms import DEFAULT_PLATFORM, Platform, load_platform
from dfcc.hardware.roofline import dsp_roofline, multiplier_roofline
from dfcc.kinds import SparseConvOp, SparseLinearOp
from dfcc.kinds.inner_product import pairs_products
from dfcc.kinds.sparse_conv import expectation_basis

ROOFLINE_COUNTS = "every DSP and every LUT as a multiplier, one MAC per cycle each, each MAC with its adder in LUTs"


@dataclass
class Estimate:
    network: Network
    totals: Totals
    platform: Platform

    @staticmethod
    def of_module(module: ModuleOp, platform: str | None = None) -> Estimate:
        name = platform or recorded_platform(module)
        if name is None:
            remark(f"no platform recorded in the IR (run explore{{platform=...}}); estimating for {DEFAULT_PLATFORM}")
            name = DEFAULT_PLATFORM
        network = Network.from_module(module)
        board = load_platform(name)
        totals = network.evaluate(network.ir_choices(), respect_ir_depths=True,
                                  max_bits_per_cycle=board.bandwidth_bits_per_cycle)
        short = [network.nodes[network.edges[e].consumer].name for e, depth in sorted(totals.fifo_depths.items())
                 if depth > network.edges[e].ir_depth]
        if short:
            remark(f"{len(short)} skip-connection FIFO(s) are shallower in the IR than they must be (into "
                   f"{', '.join(short[:4])}{', ...' if len(short) > 4 else ''}); costed at the depth they need "
                   f"(explore writes it)")
        return Estimate(network, totals, board)

    # ---- figures
    @property
    def macs(self) -> int:
        return self.network.macs()

    def roofline_fps(self) -> float | None:
        """Multiplier roofline: every DSP (at each node's packing) and every LUT (as fabric
        multipliers, after every MAC's adder) doing a useful MAC each cycle, since explore may build
        multipliers from both."""
        dsp_per_mac, lut_per_mac, adder_lut = self.network.mac_costs()
        if not dsp_per_mac:
            return None
        p = self.platform
        return multiplier_roofline(p.dsp, dsp_per_mac, p.lut, lut_per_mac, p.clock_mhz, self.macs, adder_lut)

    def dsp_roofline_fps(self) -> float | None:
        """The roofline of the DSPs alone (no fabric multipliers)."""
        dsp_per_mac, *_ = self.network.mac_costs()
        if not dsp_per_mac:
            return None
        return dsp_roofline(self.platform.dsp, 1 / dsp_per_mac, self.platform.clock_mhz, self.macs)

    def throughput_fps(self) -> float:
        return throughput(self.platform.clock_mhz, self.totals.ii) if self.totals.ii else float("inf")

    def offchip_gbps(self) -> float:
        """Average DRAM traffic at the design's II (graph I/O and streamed weights)."""
        return gbps(self.totals.offchip_bits / self.totals.ii, self.platform.clock_mhz) if self.totals.ii else 0.0

    def binding_resource(self) -> str:
        """What stops a faster design: off-chip bandwidth when it stretches the II; a slowest stage itself
        when it is already at its fastest folding; else the most used of the board's resources (bandwidth
        included)."""
        t = self.totals
        if t.bandwidth_bound:
            return "bandwidth"
        for model, cost in zip(self.network.nodes, t.costs):
            if cost.cycles == t.compute_ii and all(model.cost(f).cycles >= cost.cycles for f in model.folding_options()):
                return f"{model.name} (at its fastest folding)"
        p = self.platform
        used = {RESOURCE_LABELS[k]: self.totals.resource(k) / getattr(p, k) for k in RESOURCES if getattr(p, k)}
        used["bandwidth"] = self.offchip_gbps() / p.bandwidth_gbps
        return max(used, key=used.get)

    def latency_s(self) -> float:
        return self.totals.latency_cycles / (self.platform.clock_mhz * 1e6)

    def node_rows(self) -> list[dict]:
        rows = []
        ii = self.totals.ii or 1
        for e_model, (folding, memory, mult, on_chip, _, lutram), cost in zip(
                self.network.nodes, self.network.ir_choices(), self.totals.costs):
            rows.append({
                "name": e_model.name, "op": e_model.op_name,
                "folding": dict(zip(e_model.factors, folding)),
                **({"weights_memory": memory} if e_model.has_weights else {}),
                **({"weights_on_chip_percent": on_chip} if e_model.has_weights and memory != "off_chip" and on_chip < 100
                   else {}),
                **({"mult_impl": "lut"} if mult != "dsp" else {}),
                **({"dsp_share_percent": mult} if isinstance(mult, int) else {}),
                **({"tile_lutram": lutram} if lutram else {}),
                "offchip_gbps": gbps(cost.offchip_bits / ii, self.platform.clock_mhz),
                "cycles": cost.cycles, "share": cost.cycles / ii, "depth": cost.depth,
                "resources": {RESOURCE_LABELS[k]: getattr(cost, k) for k in RESOURCES},
                **({"cycles_expected_over": expectation_basis(e_model.op)}
                   if isinstance(e_model.op, (SparseConvOp, SparseLinearOp)) else {}),
                "multipliers": cost.multipliers,  # a conv pairing its products by FFIP has fewer than MACs a cycle
                **({"inner_product": "ffip"} if hasattr(e_model.op, "ffip_extent")
                   and pairs_products(e_model.op, e_model.op.folding()) else {}),
            })
        return rows

    def to_json(self) -> dict:
        p, t = self.platform, self.totals
        fifos = [{"from": self.network.nodes[self.network.edges[e].producer].name,
                  "to": self.network.nodes[self.network.edges[e].consumer].name, "depth": d}
                 | ({"memory": t.fifo_memories[e]} if e in t.fifo_memories else {})
                 for e, d in sorted(t.fifo_depths.items())]
        return {
            "platform": {"name": p.name, **{RESOURCE_LABELS[k]: getattr(p, k) for k in RESOURCES},
                         "clock_mhz": p.clock_mhz, "bandwidth_gbps": p.bandwidth_gbps},
            "throughput_fps": self.throughput_fps(), "latency_s": self.latency_s(),
            "ii_cycles": t.ii, "compute_ii_cycles": t.compute_ii, "bandwidth_bound": t.bandwidth_bound,
            "offchip_gbps": self.offchip_gbps(), "latency_cycles": t.latency_cycles, "clock_mhz": p.clock_mhz,
            "binding_resource": self.binding_resource(),
            "bottleneck": self.network.nodes[t.bottleneck].name,
            "resources": {RESOURCE_LABELS[k]: t.resource(k) for k in RESOURCES},
            "utilisation": {RESOURCE_LABELS[k]: _ratio(t.resource(k), getattr(p, k)) for k in RESOURCES},
            "macs": self.macs, "roofline_fps": self.roofline_fps(), "roofline_counts": ROOFLINE_COUNTS,
            "dsp_roofline_fps": self.dsp_roofline_fps(),
            "fifos": fifos, "lane_converters": self.converter_rows(), "nodes": self.node_rows(),
        }

    def converter_rows(self) -> list[dict]:
        """The lane converters (dfcc::lanes) the HLS design has, edge by edge."""
        edges, nodes = self.network.edges, self.network.nodes
        return [{"from": nodes[edges[c.edge].producer].name, "to": nodes[edges[c.edge].consumer].name,
                 "lanes_in": c.lanes_in, "lanes_out": c.lanes_out, "cycles": c.cycles} for c in self.totals.converters]

    # ---- rendering
    def render_table(self, width: int | None = None) -> str:
        from rich.console import Console
        from rich.table import Table

        p, t = self.platform, self.totals
        buffer = io.StringIO()
        console = Console(file=buffer, width=width or 160, force_terminal=False, color_system=None)
        table = Table(title=f"dfcc estimate on {p.name} at {p.clock_mhz:g} MHz")
        for col, justify in [("node", "left"), ("op", "left"), ("folding", "left"), ("cycles", "right"),
                             ("of II", "right"), ("DSP", "right"), ("BRAM18", "right"), ("URAM", "right"),
                             ("LUT", "right"), ("FF", "right"), ("DDR Gbps", "right")]:
            table.add_column(col, justify=justify)
        for row in self.node_rows():
            r = row["resources"]
            # a conv's loop-order and Winograd modes show only when on (tile=1, winograd=1: conv.h's conv_mac)
            folding = " ".join(f"{_short(k)}={v}" for k, v in row["folding"].items() if k not in ("tile", "winograd") or v > 1)
            if "weights_on_chip_percent" in row:
                on = row["weights_on_chip_percent"]
                folding += f" w:{row['weights_memory']} {on}%+ddr {100 - on}%"
            elif row.get("weights_memory", "bram") != "bram":
                folding += f" w:{row['weights_memory']}"
            if "dsp_share_percent" in row:
                folding += f" m:dsp {row['dsp_share_percent']}%+lut"
            elif row.get("mult_impl", "dsp") != "dsp":
                folding += f" m:{row['mult_impl']}"
            if "inner_product" in row:
                folding += f" ip:{row['inner_product']}"
            table.add_row(row["name"], row["op"].removeprefix("dataflow."), folding, f"{row['cycles']:,}",
                          f"{row['share']:.0%}", f"{r['DSP']:,}", f"{r['BRAM18']:,}", f"{r['URAM']:,}",
                          f"{r['LUT']:,}", f"{r['FF']:,}", f"{row['offchip_gbps']:,.2f}" if row["offchip_gbps"] else "")
        if t.fifo_depths:
            table.add_row("(FIFOs)", f"{len(t.fifo_depths)} sized", "", "", "", "0", f"{t.fifo_bram18:,}", f"{t.fifo_uram:,}",
                          f"{t.fifo_lut:,}", "0", "")
        if t.converters:
            lut, ff = (sum(x) for x in zip(*(c.logic() for c in t.converters)))
            slowest = max(c.cycles for c in t.converters)
            table.add_row("(lane converters)", f"{len(t.converters)}", "", f"{slowest:,}", f"{slowest / t.ii:.0%}",
                          "0", "0", "0", f"{lut:,}", f"{ff:,}", "")
        table.add_section()
        table.add_row("total", "", "", f"II {t.ii:,}", "", *(f"{t.resource(k):,}" for k in RESOURCES),
                      f"{self.offchip_gbps():,.2f}")
        table.add_row("platform", "", "", "", "", *(f"{getattr(p, k):,}" for k in RESOURCES), f"{p.bandwidth_gbps:g}")
        table.add_row("utilisation", "", "", "", "", *(_pct(t.resource(k), getattr(p, k)) for k in RESOURCES),
                      f"{self.offchip_gbps() / p.bandwidth_gbps:.1%}")
        console.print(table)
        summary = Table.grid(padding=(0, 2))
        summary.add_column()
        summary.add_column(justify="right")
        roof, dsp_roof = self.roofline_fps(), self.dsp_roofline_fps()
        for label, value in [
            ("initiation interval", f"{t.ii:,} cycles (bottleneck "
             + (f"off-chip bandwidth; slowest stage {t.compute_ii:,}" if t.bandwidth_bound else self.network.nodes[t.bottleneck].name) + ")"),
            ("off-chip traffic", f"{self.offchip_gbps():,.2f} of {p.bandwidth_gbps:g} Gbps"),
            ("binding resource", self.binding_resource()),
            ("latency", f"{t.latency_cycles:,.0f} cycles = {self.latency_s() * 1e3:.4g} ms"),
            ("throughput", f"{self.throughput_fps():,.1f} inferences/s"),
            ("MACs per inference", f"{self.macs:,}"),
            ("multiplier roofline", f"{roof:,.1f} inferences/s ({ROOFLINE_COUNTS})" if roof else "n/a (no MACs)"),
            ("DSP roofline", f"{dsp_roof:,.1f} inferences/s (DSPs only)" if dsp_roof else "n/a (no MACs)"),
        ]:
            summary.add_row(label, value)
        console.print(summary)
        for row in self.node_rows():
            if "cycles_expected_over" in row:
                console.print(f"{row['name']}: zero-skipping; its cycles are an expectation over "
                              f"{row['cycles_expected_over']} (PASS/HASS zero-product histogram)")
        return buffer.getvalue()

    def plot(self, path: str) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = [r for r in self.node_rows() if r["cycles"] or any(r["resources"].values())]
        names = [r["name"] for r in rows]
        x = range(len(rows))
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8, 0.25 * len(rows) + 4), 8), sharex=True)
        ax1.bar(x, [r["cycles"] for r in rows], color=["tab:red" if r["share"] >= 0.999 else "tab:blue" for r in rows])
        ax1.axhline(self.totals.ii, color="tab:red", linestyle="--", label=f"II = {self.totals.ii:,} cycles")
        ax1.set_ylabel("cycles per inference")
        ax1.legend()
        ax1.set_title(f"dfcc estimate on {self.platform.name}: {self.throughput_fps():,.1f} inferences/s")
        bottom = [0.0] * len(rows)
        for key in RESOURCES:
            label = RESOURCE_LABELS[key]
            limit = getattr(self.platform, key)
            if not limit:
                continue
            share = [100 * r["resources"][label] / limit for r in rows]
            ax2.bar(x, share, bottom=bottom, label=label, alpha=0.8)
            bottom = [b + s for b, s in zip(bottom, share)]
        ax2.set_ylabel("% of platform (stacked)")
        ax2.legend(fontsize="small")
        ax2.set_xticks(list(x))
        ax2.set_xticklabels(names, rotation=90, fontsize="x-small")
        fig.tight_layout()
        image = io.BytesIO()
        fig.savefig(image, format="png", dpi=120)
        plt.close(fig)
        write_atomic(path, image.getvalue())


def _short(factor: str) -> str:
    return {"coarse_in": "ci", "coarse_out": "co", "coarse_group": "cg", "fine": "f", "coarse": "c"}.get(factor, factor)


def _ratio(used: int, limit: int) -> float | None:
    return used / limit if limit else (None if used == 0 else float("inf"))


def _pct(used: int, limit: int) -> str:
    return f"{used / limit:.1%}" if limit else ("-" if used == 0 else "over")


def run_estimate(module: ModuleOp, request) -> None:
    """The `estimate` target."""
    estimate = Estimate.of_module(module, request.options.get("platform"))
    if request.plot:
        estimate.plot(request.plot)
    text = json.dumps(estimate.to_json(), indent=2) + "\n" if request.json else estimate.render_table()
    if request.output is None or request.output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(request.output, text)
