"""Weights streamed from off-chip memory in HLS (AutoWS partial spill, H2PIPE weight delivery): the
weights argument of a MAC kernel call (conv.h, linear.h) when its node keeps part or none of its weight
memory on chip.

The MAC reads one word of its weight memory per cycle (include/dfcc/weights.h); `mac_words` lists a
node's words in that order. The node keeps the first words in a ROM (its `dataflow.weights_on_chip`
percent, split as the cost model splits the memory: `split_depth`) and reads the others from DRAM on every
sweep through `dfcc::weight_reader` (offchip.h), over m_axi ports whose arrays hold the weight image's
bytes (`DramBuffer.image`: the project writes weights.bin and its layout, the testbench loads the same).
The reader is a stage of the node, not a node of its own: the weights are an operand of the node that
reads them (ARCHITECTURE.md).

A node that keeps its whole weight memory on chip keeps it packed the same way: one ROM of its words in
that order, as wide as a word, the memory the cost model counts (in BRAM or LUTRAM a word a row; in URAM a
word in one row, or its halves in two rows the two ports of a `rom_2p` read together where that takes fewer
blocks: hardware/memory.py `uram_rows`), read by `dfcc::weight_rom` (weights.h) into the MAC's word stream.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dfcc.dialects.dataflow import WEIGHTS_MEMORY_ATTR
from dfcc.hardware.memory import uram_rows
from dfcc.hardware.offchip import DDR_BURST, WEIGHT_FIFO_DEPTH, dram_layout, split_depth
from dfcc.kinds.cost import DEFAULT_WEIGHT_BITS, WEIGHT_PERIOD_FACTOR, array_cost
from dfcc.kinds.ddr_fifo import DramBuffer
from dfcc.kinds.hls_types import HLS, Rom, codes_of, sanitize

def mac_words(weights: np.ndarray, channels: int, groups: int, lanes_in: int, lanes_out: int,
              fine: int, filters_outer: bool = False) -> np.ndarray:
    """weights[F][C/G][...] (a conv's kernel positions flattened last; a linear's F x C) as the MAC's words,
    in the order conv.h reads them per output pixel: beat bt, filter step fo (ceil(GPB*F/G / CO) of them,
    CO = `lanes_out` filters a step), position step t (ceil(K/FINE) of them); `filters_outer` (conv_tiled, per
    tile: a filter step's sums for the whole tile, then the next) fo, bt, t. Each word lane co*LC*FINE + m
    (weights.h). Shape (words, CO*LC*FINE)."""
    f = weights.shape[0]
    cg = channels // groups
    flat = weights.reshape(f, cg, -1)
    k = flat.shape[2]
    fg = f // groups
    bpg = cg // lanes_in if cg > lanes_in else 1  # input beats per group
    gpb = lanes_in // cg if lanes_in > cg else 1  # groups per input beat
    lc = lanes_in // gpb
    nf = -(-gpb * fg // lanes_out)
    # each index on its own axis of (bt, fo, t, co, m), broadcast by the gather (no word-sized index arrays)
    bt, fo, t, co, m = (np.arange(n).reshape([-1 if d == a else 1 for d in range(5)]) for a, n in enumerate(
        (channels // lanes_in, nf, -(-k // fine), lanes_out, lc * fine)))
    j = np.minimum(t * lc * fine + m, lc * k - 1)  # the last step's idle slots (fine not dividing k) repeat the last
    filt = (bt // bpg) * gpb * fg + fo * lanes_out + co
    filt = np.where(filt < f, filt, filt - lanes_out)  # the last filter step's idle lanes: the previous step's
    words = flat[filt, (bt % bpg) * lc + j // k, j % k]
    if filters_outer:
        words = words.swapaxes(0, 1)
    return words.reshape(-1, lanes_out * lc * fine)


def pack_beats(codes: np.ndarray, bits: int, beat: int, ports: int, per_port: int, per_beat: int) -> list[bytes]:
    """Each port's beats (little-endian bytes) for words of B-bit codes, laid out as offchip.h reads them."""
    words, lanes = codes.shape
    beats = -(-words // per_beat)
    images = []
    for p in range(ports):
        part = np.zeros((beats * per_beat, per_port), dtype=np.int64)
        mine = codes[:, p * per_port:(p + 1) * per_port]
        part[:words, :mine.shape[1]] = mine
        fields = part.reshape(beats, per_beat * per_port)  # word slot j's lane l at field j*LPP + l
        bit_rows = (fields[:, :, None] >> np.arange(bits)) & 1  # two's complement, low bit first
        row = np.zeros((beats, beat), dtype=np.uint8)
        row[:, :per_beat * per_port * bits] = bit_rows.reshape(beats, -1)
        images.append(np.packbits(row, axis=1, bitorder="little").tobytes())
    return images


def streamed_words(depth: int, off: int) -> np.ndarray:
    """Which of a sweep's `depth` words stream from DRAM: `off` of them spread evenly (word d when
    floor((d+1)*off/depth) > floor(d*off/depth), as offchip.h weight_merge counts), so the MAC drains the
    reader's FIFO at a steady rate instead of all at once after its on-chip words."""
    d = np.arange(depth, dtype=np.int64)
    return (d + 1) * off // depth > d * off // depth


def mac_weights(em, op, w_rom: Rom, sweeps: int, *, channels: int, groups: int, lanes_in: int, lanes_out: int,
                fine: int, filters_outer: bool = False) -> str:
    """The weights argument of the node's MAC kernel call: its ROM, or (weights streamed from DRAM) the
    stream of its words, fed by a weight reader (and, when part stays on chip, a merge with its ROM)."""
    percent = op.on_chip_percent()
    words = mac_words(np.asarray(w_rom.values, dtype=np.float64), channels, groups, lanes_in, lanes_out, fine,
                      filters_outer)
    if percent == 100:
        return _rom_words(em, op, w_rom, sweeps, words)
    name = op.node_name.data
    if w_rom.fx is None:
        raise em.error(op, "weights streamed from off-chip memory need fixed-point weights (run quantize first)")
    fx = w_rom.fx
    depth, lanes = words.shape
    on, off = split_depth(depth, percent)
    beat, ports, per_port, per_beat, per_word = dram_layout(lanes, fx.width, op.folding().get(WEIGHT_PERIOD_FACTOR, 1))
    streamed = streamed_words(depth, off)
    codes = codes_of(words[streamed], fx.frac)
    if per_word > 1:  # each word in per_word consecutive beats of per_port lanes (the last one padded)
        codes = np.pad(codes, ((0, 0), (0, per_word * per_port - lanes))).reshape(-1, per_port)
    images = pack_beats(codes, fx.width, beat, ports, per_port, per_beat)
    port_names = tuple(em.unique(f"{name}_w{p}") for p in range(ports))
    beats = -(-off // per_beat) * per_word
    layout = {"node": name, "element": fx.cpp, "bits": fx.width, "frac_bits": fx.frac,
              "words_on_chip": on, "words_streamed": off, "sweeps": sweeps, "weights_per_word": lanes,
              "beat_bits": beat, "words_per_beat": per_beat, "lanes_per_port": per_port, "beats_per_word": per_word,
              "order": "per sweep the streamed words in the order its MAC reads them (include/dfcc/weights.h), "
                       "word d of the sweep's N streamed when floor((d+1)*words_streamed/N) > "
                       "floor(d*words_streamed/N); "
                       "word slot j of a beat, lane l on port l // lanes_per_port at bit "
                       "(j * lanes_per_port + l % lanes_per_port) * bits; with beats_per_word > 1 (one port) lane l "
                       "in the word's beat l // lanes_per_port at bit (l % lanes_per_port) * bits: the two's "
                       "complement code, value = code * 2^-frac_bits"}
    for p, (port, image) in enumerate(zip(port_names, images)):
        em.dram.append(DramBuffer(em.unique(f"dram_{port}"), f"ap_uint<{beat}>", beats, (port,), DDR_BURST, (image,),
                                  {**layout, "port": p, "lanes": [p * per_port, min(lanes, (p + 1) * per_port)]}))
    em.headers.add("offchip.h")
    em.streamed_weights.add(op)
    fifo = em.temp_stream(f"{name}_wfifo", w_rom.elem, lanes)
    fifo.depth = WEIGHT_FIFO_DEPTH
    reader = (f"weight_reader_beats<{sweeps}, {off}, {per_word}, {fx.width}, {beat}>" if per_word > 1 else
              f"weight_reader<{sweeps}, {off}, {per_beat}, {per_port}, {fx.width}, {beat}>")
    em.calls.append(f"dfcc::{reader}({fifo.name}, {', '.join(port_names)});  "
                    f"// {name}: {off} of {depth} words from DRAM")
    if on == 0:
        return fifo.name
    rom = em.add_rom(replace(w_rom, name=f"{w_rom.name}_{sanitize(name)}_on", shape=(on, lanes), values=words[~streamed],
                             comment=f"{name}: {on} of {depth} words, on chip (the others streamed)"))
    merged = em.temp_stream(f"{name}_words", w_rom.elem, lanes)
    em.calls.append(f"dfcc::weight_merge<{sweeps}, {on}, {off}>({rom.name}, {fifo.name}, {merged.name});  // {name}")
    return merged.name


def _rom_words(em, op, w_rom: Rom, sweeps: int, words: np.ndarray) -> str:
    """The stream of the node's words read by `dfcc::weight_rom` from their packed ROM, bound to the memory
    the cost model counts for it."""
    name = op.node_name.data
    attr = op.attributes.get(WEIGHTS_MEMORY_ATTR)
    memory = "bram" if attr is None else attr.data
    if memory not in ("bram", "uram", "lutram"):
        raise em.error(op, f"weights memory '{memory}' is not supported (bram, uram, lutram or off_chip)")
    depth, lanes = words.shape
    bits = w_rom.fx.width if w_rom.fx is not None else DEFAULT_WEIGHT_BITS  # float weights costed at this width
    rows = uram_rows(lanes * bits, depth, bits) if memory == "uram" else 1
    row_lanes = -(-lanes // rows)
    packed = np.pad(words, ((0, 0), (0, rows * row_lanes - lanes))).reshape(depth * rows, row_lanes)
    blocks, _ = array_cost(lanes * bits, depth)  # the cost model's BRAM array: LUTRAM under a BRAM18's worth
    impl = memory if memory != "bram" or blocks else "lutram"
    # each reader its own ROM, in its own layout (weights two nodes share: a copy for each, as each costs them)
    rom = em.add_rom(replace(w_rom, name=f"{w_rom.name}_{sanitize(name)}", shape=packed.shape, values=packed,
                             comment=f"{name}: {depth} words of {lanes} weights, {rows} row(s) each, in {impl}"))
    port = "rom_2p" if rows == 2 else "rom_1p"
    em.storage.append(f"{HLS}(BIND_STORAGE variable={rom.name} type={port} impl={impl})  // {name}: {memory}")
    em.packed_weights.add(op)
    words_stream = em.temp_stream(f"{name}_words", w_rom.elem, lanes)
    words_stream.depth = WEIGHT_FIFO_DEPTH
    em.calls.append(f"dfcc::weight_rom<{sweeps}, {depth}, {rows}>({rom.name}, {words_stream.name});  // {name}")
    return words_stream.name
