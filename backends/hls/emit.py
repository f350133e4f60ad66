"""Dataflow IR -> Vitis HLS C++: one stage per node inside a DATAFLOW top function.

`emit_design(module)` returns the generated files (top.h, top.cpp, weights/*.h) as text. Every
stream SSA value becomes an `hls::stream<dfcc::vec<T, P> >` with the FIFO depth of its type (and, bound to
URAM or LUTRAM, the memory of its type: `bind_storage type=fifo`, UG1399); every
node's kind writes its stage (`NodeKind.emit_hls`, in kinds/<kind>.py): one call of a kernel from
include/dfcc (conv, linear, pools, fork, ...) or of a stage function it generates (maps,
reductions, pad, slice), with map bodies as functor structs. Sources and sinks are the AXI-stream
ports of `top`; top.h includes the kernel headers the design's kinds name (`hls_headers`).

The numbers follow the CPU reference (the oracle), not the other way round:
- float designs compute in float32 as numpy does (same operations; sums may be ordered
  differently, so results agree to ~1e-6 relative, not bit for bit);
- fixed-point designs follow the kinds' run_fixed semantics bit for bit: exact products and sums in
  wide-enough ap_fixed types, then the casts the contract names (acc_format, then the output
  type); piecewise-linear map bodies (and divisions by constants, kinds/exact_division.py) are computed exactly
  in ap_fixed, other one-input maps of <= 16 bits are ROMs of `map_table(op)` where it varies (`map_window(op)`);
  other map bodies in double then cast.
Nodes the emitter cannot realise raise DfccError naming the node; it never emits wrong code.

Lanes: a node's kind states the lanes of its streams (`NodeKind.stream_lanes`, from its folding;
the cost model and the cycle-level schedules read the same). Where a producer's lanes differ from
what its consumer reads, a `dfcc::lanes` re-chunking stage is inserted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import BlockArgument, Operation, SSAValue

from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError
from dfcc.hardware.cycles import lane_conversion_steps
from dfcc.kinds.ddr_fifo import DramBuffer
from dfcc.kinds.hls_types import HLS, Fx, Rom, cpp_type, prod, sanitize, weights_fx
from dfcc.kinds.sink import sink_lanes
from dfcc.kinds.source import port_lanes

TOP = "top"

_STORAGE_IMPL = {"uram": "uram", "lutram": "lutram"}


# ---- the design -----------------------------------------------------------------------------------


@dataclass
class Stream:
    name: str
    elem: str  # C++ element type
    lanes: int
    depth: int
    shape: tuple[int, ...]
    memory: str = "auto"  # StreamType.memory

    @property
    def cpp(self) -> str:
        return f"hls::stream<dfcc::vec<{self.elem}, {self.lanes}> >"


@dataclass
class Port:
    name: str
    elem: str
    lanes: int
    shape: tuple[int, ...]
    perm: tuple[int, ...]
    fixed: df.FixedType | None
    index: int  # function argument / result index


@dataclass
class Design:
    """Everything the project writer needs."""

    files: dict[str, str]
    inputs: list[Port]
    outputs: list[Port]
    fixed: bool
    platform: str | None
    stages: list[str] = field(default_factory=list)
    dram: list[DramBuffer] = field(default_factory=list)


def main_function(module: ModuleOp, function: str = "main") -> func.FuncOp:
    for op in module.walk():
        if isinstance(op, func.FuncOp) and op.sym_name.data == function:
            return op
    raise DfccError(f"no function @{function} in the module")


class Emitter:
    """Walks the dataflow graph of @main once, in order, producing the C++ text.

    Each node's stage is written by its kind (`kind_of(op).emit_hls(emitter, op)`); the emitter
    holds what the stages share: streams and lane converters (`read`, `new_stream`, `define`,
    `alias`), ports, ROMs (`rom`, `add_rom`), unique names, the text of the top function (`calls`)
    and of the definitions before it (`defs`), and the CPU reference's fixed-point facts the C++ must
    reproduce bit for bit.
    """

    def __init__(self, module: ModuleOp):
        self.module = module
        self.function = main_function(module)
        self.streams: dict[SSAValue, Stream] = {}
        self.pending_source: dict[SSAValue, Port] = {}
        self.decls: list[Stream] = []
        self.calls: list[str] = []  # statements in the DATAFLOW region
        self.defs: list[str] = []  # functors and stage functions, before top
        self.roms: dict[str, Rom] = {}
        self.inputs: list[Port] = []
        self.outputs: list[Port] = []
        self.names: set[str] = set()
        self.stage_names: list[str] = []
        self.sink_ports: dict[kinds.SinkOp, Port] = {}
        self.fixed = False
        self.storage: list[str] = []  # BIND_STORAGE pragmas of ROMs explore moved out of BRAM
        self.headers: set[str] = {"vec.h"}  # top.h's kernel headers: streams, lanes, and the kinds' hls_headers
        self.dram: list[DramBuffer] = []  # off-chip arrays (evicted skip connections, streamed weights)
        self.streamed_weights: set[Operation] = set()  # nodes that read their weights from DRAM (hls_offchip.py)
        self.packed_weights: set[Operation] = set()  # nodes whose packed URAM ROM hls_offchip.py bound itself

    # -- helpers ------------------------------------------------------------------------------

    def unique(self, base: str) -> str:
        name, n = sanitize(base), 1
        while name in self.names:
            n += 1
            name = f"{sanitize(base)}_{n}"
        self.names.add(name)
        return name

    def error(self, op: Operation, why: str) -> DfccError:
        name = op.node_name.data if isinstance(op, df.NodeOp) else "?"
        return DfccError(f"HLS backend: {op.name} '{name}': {why}")

    def elem(self, value: SSAValue) -> str:
        return cpp_type(value.type.element_type)

    def fixed_type(self, value: SSAValue) -> df.FixedType | None:
        t = value.type.element_type
        return t if isinstance(t, df.FixedType) else None

    def new_stream(self, base: str, value_type: df.StreamType, lanes: int, depth: int | None = None,
                   value: SSAValue | None = None) -> Stream:
        port = self.sink_port(value, lanes) if value is not None else None
        if port is not None:  # the producer writes the output port itself
            port.lanes = lanes
            return Stream(port.name, port.elem, lanes, 0, port.shape)
        s = Stream(self.unique(base), cpp_type(value_type.element_type), lanes,
                   value_type.depth.data if depth is None else depth, value_type.get_shape(), value_type.memory.data)
        self.decls.append(s)
        return s

    def define(self, value: SSAValue, stream: Stream) -> None:
        self.streams[value] = stream

    def alias(self, value: SSAValue, stream: Stream) -> None:
        """`value` is carried by `stream` itself (a relabelling: same words, same order)."""
        self.define(value, Stream(stream.name, stream.elem, stream.lanes, stream.depth, value.type.get_shape()))

    def temp_stream(self, base: str, elem: str, lanes: int) -> Stream:
        """A stream between two kernels of one node (depth 2)."""
        s = Stream(self.unique(base), elem, lanes, 2, ())
        self.decls.append(s)
        return s

    def read(self, value: SSAValue, lanes: int, consumer: str) -> str:
        """The name of a stream carrying `value` in `lanes` lanes (inserting a lanes stage if needed)."""
        return self.read_stream(value, lanes, consumer).name

    def producer_lanes(self, value: SSAValue) -> int | None:
        stream = self.streams.get(value)
        return None if stream is None else stream.lanes

    def read_stream(self, value: SSAValue, lanes: int, consumer: str, into: Stream | None = None) -> Stream:
        """The stream carrying `value` in `lanes` lanes: its producer's, or a lane converter's (writing `into`,
        an output port, if given)."""
        if value in self.pending_source:  # a port: its lanes are what its consumer reads, or `pixels` whole pixels
            port = self.pending_source.pop(value)
            port.lanes = port_lanes(value.owner) or lanes
            self.streams[value] = Stream(port.name, port.elem, port.lanes, 0, port.shape)
        stream = self.streams.get(value)
        if stream is None:
            raise DfccError(f"HLS backend: stream read by '{consumer}' has no producer the backend knows")
        if stream.lanes == lanes:
            return stream
        return self.convert_lanes(stream, lanes, consumer, into)

    def convert_lanes(self, stream: Stream, lanes: int, consumer: str, into: Stream | None = None) -> Stream:
        """`stream` re-chunked to `lanes` lanes by `dfcc::lanes` stages (hardware/cycles.py lane_conversion_steps),
        the last one writing `into` if given."""
        n = prod(stream.shape)
        src = stream
        steps = lane_conversion_steps(stream.lanes, lanes)
        for k, p in enumerate(steps):
            if into is not None and k == len(steps) - 1:
                out = into
            else:
                out = Stream(self.unique(f"{consumer}_in{p}"), src.elem, p, 2, src.shape)
                self.decls.append(out)
            self.calls.append(f"dfcc::lanes<{n}, {src.lanes}, {p}>({src.name}, {out.name});")
            src = out
        return src

    def weights(self, value: SSAValue, op: Operation, what: str) -> kinds.WeightsOp:
        owner = value.owner
        if not isinstance(owner, kinds.WeightsOp):
            raise self.error(op, f"{what} is not a dataflow.weights constant")
        return owner

    def rom(self, w_op: kinds.WeightsOp, *, name: str | None = None, shape: tuple[int, ...] | None = None,
            fx: Fx | None = None, comment: str = "", keep: bool = True) -> Rom:
        """A ROM for a weights op: float array for float designs, codes of an exact type otherwise;
        part of the design unless `keep` is false (weights a node streams from DRAM)."""
        values = np.asarray(elements_array(w_op.value))
        name = name or f"w_{sanitize(w_op.node_name.data)}"
        if name in self.roms:
            return self.roms[name]
        shape = tuple(shape if shape is not None else values.shape)
        values = values.reshape(shape) if shape else values.reshape(())
        if fx is None and w_op.format is None and not self.fixed:
            rom = Rom(name, "float", "float", shape, values, None, comment)
        else:
            if fx is None:
                fx = self.weights_fx(w_op, values)
            rom = Rom.of_codes(name, fx, shape, values, comment)
        if keep:
            self.roms[name] = rom
        return rom

    def add_rom(self, rom: Rom) -> Rom:
        """Keep `rom` (the one already kept under its name, if any)."""
        return self.roms.setdefault(rom.name, rom)

    def weights_fx(self, w_op: kinds.WeightsOp, values: np.ndarray) -> Fx:
        """The exact type of a weights op (kinds/hls_types.py weights_fx)."""
        return weights_fx(w_op.format, values)

    # -- the CPU reference's fixed-point contract, which the C++ reproduces bit for bit ------------


    # -- ports ----------------------------------------------------------------------------------

    def source_port(self, op: kinds.SourceOp) -> None:
        """A graph input: an AXI-stream port, made when its consumer reads it (with that many lanes)."""
        arg = op.tensor
        if not isinstance(arg, BlockArgument):
            raise self.error(op, "the source must stream a function argument")
        port = Port(self.unique(op.node_name.data), self.elem(op.output), 1, op.output.type.get_shape(),
                    op.ints_prop("perm"), self.fixed_type(op.output), arg.index)
        self.inputs.append(port)
        self.pending_source[op.output] = port

    def sink_port(self, value: SSAValue, lanes: int | None = None) -> Port | None:
        """The output port of `value` when its only consumer is a sink whose port takes `lanes` (any, at
        one pixel a beat; None: any) (created on first ask)."""
        uses = list(value.uses)
        if len(uses) != 1 or not isinstance(uses[0].operation, kinds.SinkOp):
            return None
        sink = uses[0].operation
        if lanes is not None and sink_lanes(sink) not in (0, lanes):
            return None  # a lane converter in front of the port (kinds/sink.py sink_lanes)
        if sink in self.sink_ports:
            return self.sink_ports[sink]
        returns = [u for u in sink.tensor.uses if isinstance(u.operation, func.ReturnOp)]
        if not returns:
            raise self.error(sink, "the sink's tensor must be returned by the function")
        port = Port(self.unique(sink.node_name.data), self.elem(value), 1, value.type.get_shape(),
                    sink.ints_prop("perm"), self.fixed_type(value), returns[0].index)
        self.sink_ports[sink] = port
        self.outputs.append(port)
        return port

    def sink(self, op: kinds.SinkOp) -> None:
        """A graph output: written by its producer, or copied from a stream the producer shares."""
        if op in self.sink_ports:
            return  # its producer writes the port
        if op.input in self.pending_source or op.input in self.streams:
            port = self.sink_port(op.input)
            port.lanes = sink_lanes(op) or self.producer_lanes(op.input) or 1
            src = self.read_stream(op.input, port.lanes, op.node_name.data,
                                   into=Stream(port.name, port.elem, port.lanes, 0, port.shape))
            if src.name != port.name:  # a stream of its lanes already (a graph input, a relabelled one): copied
                self.calls.append(f"dfcc::lanes<{prod(port.shape)}, {src.lanes}, {src.lanes}>({src.name}, {port.name});"
                                  f"  // {op.node_name.data}")
            return
        raise self.error(op, "the sink's stream has no producer")

    def stage(self, op: df.NodeOp) -> str:
        """Record `op` as a stage of the design; its name."""
        name = op.node_name.data
        self.stage_names.append(name)
        return name

    # -- the walk -----------------------------------------------------------------------------

    def run(self) -> Design:
        body = self.function.body.block
        self.fixed = any(isinstance(r.type, df.StreamType) and isinstance(r.type.element_type, df.FixedType)
                         for op in body.ops for r in op.results)
        for op in body.ops:
            if isinstance(op, func.ReturnOp):
                continue
            if not isinstance(op, df.NodeOp):
                raise DfccError(f"HLS backend: '{op.name}' is not a dataflow node (run -p lower-to-dataflow first)")
            memory = op.attributes.get(df.WEIGHTS_MEMORY_ATTR)
            kind = kinds.kind_of(op)
            before = set(self.roms)
            kind.emit_hls(self, op)
            self.headers.update(kind.hls_headers)
            if op.on_chip_percent() < 100 and op not in self.streamed_weights:
                raise self.error(op, "weights streamed from off-chip memory (dataflow.weights_memory = off_chip or "
                                     "dataflow.weights_on_chip) are built for dense conv and linear nodes only; keep "
                                     "this node's weights on chip (explore without off-chip-weights=true)")
            if memory is not None and memory.data not in ("bram", "off_chip") and op not in self.packed_weights:
                if memory.data not in _STORAGE_IMPL:
                    raise self.error(op, f"weights memory '{memory.data}' is not supported")
                for rom in (r for r in self.roms if r not in before):
                    self.storage.append(f"{HLS}(BIND_STORAGE variable={rom} type=rom_2p impl={_STORAGE_IMPL[memory.data]})"
                                        f"  // {op.node_name.data}: {memory.data}")
        if self.pending_source:
            raise DfccError("HLS backend: a graph input is not read by any node")
        self.inputs.sort(key=lambda p: p.index)
        self.outputs.sort(key=lambda p: p.index)
        return self.finish()

    # -- output ---------------------------------------------------------------------------------

    def port_decl(self, port: Port) -> str:
        return f"hls::stream<dfcc::vec<{port.elem}, {port.lanes}> >& {port.name}"

    def finish(self) -> Design:
        ports = [self.port_decl(p) for p in self.inputs + self.outputs]
        ports += [f"{b.elem}* {port}" for b in self.dram for port in b.ports]
        headers = self.headers | ({"rom.h"} if self.roms else set())  # ROMs: dfcc::code, dfcc::val
        signature = f"void {TOP}({', '.join(ports)})"
        weights = {}
        rom_includes = []
        for rom in self.roms.values():
            path = f"weights/{rom.name}.h"
            guard = f"DFCC_WEIGHTS_{rom.name.upper()}_H"
            weights[path] = (f"// {rom.name}: generated by dfcc (values exact in {rom.value_type}).\n"
                             f"#ifndef {guard}\n#define {guard}\n\n#include \"../top.h\"\n\n{rom.text()}\n#endif\n")
            rom_includes.append(f'#include "{path}"')
        top_h = "\n".join([
            "// Generated by dfcc: the accelerator's top function (one inference per call).",
            "#ifndef DFCC_TOP_H",
            "#define DFCC_TOP_H",
            "",
            "#include <ap_fixed.h>",
            "#include <hls_stream.h>",
            "",
            *[f"#include \"dfcc/{header}\"" for header in sorted(headers)],
            "",
            *[f"// input {p.name}: {'x'.join(map(str, p.shape))} (stream order), {p.lanes} lane(s) of {p.elem}" for p in self.inputs],
            *[f"// output {p.name}: {'x'.join(map(str, p.shape))} (stream order), {p.lanes} lane(s) of {p.elem}" for p in self.outputs],
            *[f"// DRAM buffer {b.name}: {b.words} words of {b.elem}; the host allocates it"
              + (" and loads it from weights.bin (weights.json)" if b.image else "")
              + f" and passes it to every one of {', '.join(b.ports)}" for b in self.dram],
            f"{signature};",
            "",
            "#endif",
            "",
        ])
        body = []
        for p in self.inputs + self.outputs:
            body.append(f"    {HLS}(INTERFACE axis port={p.name})")
        for b in self.dram:
            for port in b.ports:  # one AXI master each: the writer's and the reader's bursts do not share a port
                body.append(f"    {HLS}(INTERFACE m_axi port={port} offset=slave bundle=gmem_{port} depth={b.words} "
                            f"max_read_burst_length={b.burst} max_write_burst_length={b.burst})")
        body.append(f"    {HLS}(DATAFLOW)")
        body.extend("    " + line for line in self.storage)
        body.append("")
        for s in self.decls:
            body.append(f"    {s.cpp} {s.name}(\"{s.name}\");")
            body.append(f"    {HLS}(STREAM variable={s.name} depth={s.depth})")
            if s.memory != "auto":  # UG1399 BIND_STORAGE: a stream is a FIFO, impl uram or lutram
                body.append(f"    {HLS}(BIND_STORAGE variable={s.name} type=fifo impl={s.memory})")
        body.append("")
        body.extend("    " + call for call in self.calls)
        top_cpp = "\n".join([
            "// Generated by dfcc: one stage per dataflow node, streams between them, DATAFLOW at the top.",
            "// DFCC_HLS(x) is `#pragma HLS x` under Vitis HLS and nothing in g++ C simulation (dfcc/vec.h).",
            "#include <cmath>",
            "#include <limits>",
            "",
            "#include \"top.h\"",
            *rom_includes,
            "",
            *self.defs,
            f"{signature} {{",
            *body,
            "}",
            "",
        ])
        platform = self.module.attributes.get(df.PLATFORM_ATTR)
        files = {"top.h": top_h, "top.cpp": top_cpp, **weights}
        return Design(files, self.inputs, self.outputs, self.fixed,
                      platform.data if platform is not None else None, self.stage_names, self.dram)


def emit_design(module: ModuleOp) -> Design:
    return Emitter(module).run()
