"""`dfcc ... -t quant-report`: the number formats and the measured quantization error of each node.

The `quantize` pass writes, on every node, its formats (stream element types, weights `format`,
`acc_format`) and a `sqnr` attribute: signal-to-quantization-noise ratios in dB measured on the
calibration data against the float graph. `output` is the error of the whole quantized graph up to
this node's output, `format` the error of rounding/clipping the float output to its format alone,
`weights` that of its quantized weights. A node whose `output` SQNR drops sharply against its
inputs, or whose `format` SQNR is low, is the one to give more bits (quantize{override=NODE:a12}).
This reads the IR only, so it works on any saved quantized .mlir file.
"""

import io
import json

from xdsl.dialects.builtin import ArrayAttr, ModuleOp

from dfcc.backends.request import TargetRequest
from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.backends.output import write_atomic
from dfcc.errors import DfccError
from dfcc.kinds.cost import SQNR_ATTR


def _format(attr) -> str | None:
    if attr is None:
        return None
    if isinstance(attr, ArrayAttr):
        widths = sorted({a.width.data for a in attr.data})
        ints = [a.int_bits.data for a in attr.data]
        return f"per-channel <{'/'.join(map(str, widths))}, {min(ints)}..{max(ints)}>"
    return str(attr).removeprefix("!dataflow.")


def report_rows(module: ModuleOp) -> list[dict]:
    """One row per quantized node: name, op, formats and SQNRs (dB), in graph order."""
    rows = []
    for op in module.walk():
        if not isinstance(op, df.NodeOp) or isinstance(op, (kinds.WeightsOp, kinds.SinkOp)):
            continue
        out = op.results[0].type if op.results else None
        if not isinstance(out, df.StreamType) or not isinstance(out.element_type, df.FixedType):
            continue
        weights = getattr(op, "weights", None)
        sqnr = op.attributes.get(SQNR_ATTR)
        values = {k: v.value.data for k, v in sqnr.data.items()} if sqnr is not None else {}
        rows.append({
            "node": op.node_name.data,
            "op": op.name.removeprefix("dataflow."),
            "output_format": _format(out.element_type),
            "weights_format": _format(weights.owner.format) if weights is not None and isinstance(weights.owner, kinds.WeightsOp) else None,
            "acc_format": _format(op.properties.get("acc_format")),
            "sqnr_weights_db": values.get("weights"),
            "sqnr_format_db": values.get("format"),
            "sqnr_output_db": values.get("output"),
        })
    return rows


def _db(value) -> str:
    if value is None:
        return "-"
    return "exact" if value >= 300 else f"{value:.1f}"


def run_report(module: ModuleOp, request: TargetRequest) -> None:
    rows = report_rows(module)
    if not rows:
        raise DfccError("-t quant-report needs a quantized graph (run quantize{...} first)")
    if request.json:
        text = json.dumps(rows, indent=2) + "\n"
        if request.output:
            write_atomic(request.output, text)
        else:
            print(text, end="")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="quantization: formats and SQNR (dB) on the calibration data")
    for column, justify in (("node", "left"), ("op", "left"), ("output", "left"), ("weights", "left"),
                            ("accumulator", "left"), ("SQNR weights", "right"), ("SQNR format", "right"),
                            ("SQNR output", "right")):
        table.add_column(column, justify=justify)
    worst = min((r["sqnr_output_db"] for r in rows if r["sqnr_output_db"] is not None), default=None)
    for r in rows:
        style = "bold red" if worst is not None and r["sqnr_output_db"] == worst else None
        table.add_row(r["node"], r["op"], r["output_format"], r["weights_format"] or "-", r["acc_format"] or "-",
                      _db(r["sqnr_weights_db"]), _db(r["sqnr_format_db"]), _db(r["sqnr_output_db"]), style=style)
    if request.output:
        console = Console(record=True, width=160, file=io.StringIO())
        console.print(table)
        write_atomic(request.output, console.export_text())
    else:
        Console(width=160).print(table)
