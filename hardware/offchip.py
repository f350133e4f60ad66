"""Off-chip traffic (AutoWS, SMOF): bits moved by weights streamed from DRAM, and the slowdown
when the DRAM cannot keep up.

Bandwidths are in bits per clock cycle unless the name says Gbps.
"""

from typing import NamedTuple

from dfcc.hardware.logic import Logic, stage_logic
from dfcc.hardware.memory import bram18, lutram_luts

# One BRAM18 deep in its widest (36 x 512) aspect: the unit AutoWS streams weights through.
SPILL_UNIT_DEPTH = 512
# Vitis HLS m_axi default `latency` (UG1399, pragma HLS interface): cycles from a read request to its data
DRAM_LATENCY_CYCLES = 64
DDR_BURST = 16  # beats per m_axi burst (Vitis HLS's default max burst length, UG1399)
# spans a DRAM ring's burst-token FIFO covers at most: its 1-bit tokens then fit a LUTRAM (UG574: 64 bits a LUT6), where
# a token a burst would take BRAM18s for a ring of a large map (MobileNetV3-Large's 14x14x672, 4 inferences: 32,928)
RING_TOKEN_SPANS = 512
# Vitis HLS m_axi defaults (UG1399, pragma HLS interface): bursts in flight per direction, address width
MAXI_OUTSTANDING = 16
MAXI_ADDRESS_BITS = 64
MAXI_LENGTH_BITS = 8  # AXI4 AxLEN (AMBA AXI4 spec): a burst request carries its length



def ring_bursts(beats: int, inferences: int = 1) -> tuple[int, int]:
    """(beats a token stands for, tokens its FIFO holds) of a DRAM ring of `inferences` inferences of `beats` beats
    each (ddr.h): whole m_axi bursts a token, few enough that the ring has at most RING_TOKEN_SPANS of them; the
    writer, blocked once that many tokens wait, never overwrites a span the reader has yet to load; (0, 0) for an
    inference too short."""
    # dfcc ddr.h: with D tokens waiting, the reader may still be loading the span before them and the writer writes
    # the span after them, so D + 2 of the ring's inferences x ceil(beats / span) spans must differ: D = spans - 2
    burst = DDR_BURST if beats >= 3 * DDR_BURST else beats // 3
    if burst < 1:
        return 0, 0
    span = burst * -(-inferences * -(-beats // burst) // RING_TOKEN_SPANS)
    return span, inferences * -(-beats // span) - 2


def row_ring_tokens(h: int, row_beats: int, ho: int, kr: int, sr: int, dr: int, pt: int) -> int:
    """Tokens the burst FIFO of a conv's line buffer in DRAM may hold (ddr_rows.h conv_rows, DDR_BURST beats a burst,
    the ring one inference): the writer then never overwrites a burst the reader will still read; 0 if none would
    do (an image of few more rows than the window)."""
    # dfcc ddr_rows.h: at each tile of an output row the reader has taken the tokens through its lowest row and reads
    # back from its top row; the writer, with D tokens waiting, writes burst taken + D, which must stay short of that
    # top row's burst an inference later: D <= bursts - 1 - max(taken - top burst)
    bursts = -(-h * row_beats // DDR_BURST)
    lead = 1
    for o in range(ho):
        top = o * sr - pt
        last = min(top + (kr - 1) * dr, h - 1)
        if last < 0 or top >= h:
            continue
        for t in range(0, row_beats, DDR_BURST):
            taken = -(-(last * row_beats + t + min(DDR_BURST, row_beats - t)) // DDR_BURST)
            lead = max(lead, taken - (max(top, 0) * row_beats + t) // DDR_BURST)
    return max(0, bursts - 1 - lead)


def streamed_weight_bits(width: int, depth: int, sweeps: float) -> float:
    """Off-chip bits per inference of a stage whose whole weight memory streams from DRAM."""
    # AutoWS (Yu & Bouganis) with nothing kept on chip: every sweep of the weight memory fetches
    # each of its width x depth words once (a conv sweeps once per output pixel or per weight-stationary tile, a linear per row;
    # an embedding lookup reads one row of the table per token: tokens / rows of a sweep, MicroRec)
    return width * depth * sweeps


def conv_weight_sweeps(pixels_out: int, tile: int) -> int:
    """Sweeps of a conv's weight memory per inference when each weight word serves `tile` output pixels
    before the next (conv.h conv_tiled; tile 1: once per output pixel, AutoWS)."""
    # Zhang et al. (FPGA'15), weight traffic of a tiled conv: the weights are loaded once per Tr x Tc output
    # tile, (R/Tr)(C/Tc) times per layer
    return -(-pixels_out // tile)


def split_depth(depth: int, on_chip_percent: int) -> tuple[int, int]:
    """(on-chip, off-chip) words of a weight memory keeping `on_chip_percent` of its depth on chip."""
    # AutoWS (Yu & Bouganis): a weight memory is split by depth (address range), the top part streamed
    on = depth * on_chip_percent // 100
    return on, depth - on


# The FIFO between a weight reader and its MAC: each m_axi adapter already buffers MAXI_OUTSTANDING x
# DDR_BURST beats of the reads it has requested (UG1399), more than the bursts in flight during one
# DRAM_LATENCY_CYCLES, so this FIFO only decouples the two loops: Vitis HLS's default stream depth (UG1399)
WEIGHT_FIFO_DEPTH = 2


def evicted_stream_bits(elements: int, bits: int) -> int:
    """Off-chip bits per inference of a stream evicted to DRAM (written once, read back once)."""
    # SMOF (Montgomerie-Corcoran et al.): an evicted skip connection costs its bandwidth twice
    return 2 * elements * bits


def bandwidth_limited_ii(ii: float, bits_per_cycle: float, max_bits_per_cycle: float) -> float:
    """Pipeline interval once off-chip traffic is counted: DRAM-bound designs slow down."""
    # AutoWS / SMOF: II' = II * BW_total / BW_max when BW_total > BW_max
    return ii * bits_per_cycle / max_bits_per_cycle if bits_per_cycle > max_bits_per_cycle else ii


def gbps(bits_per_cycle: float, clock_mhz: float) -> float:
    """Bits per cycle at a clock, in Gbit/s (the platform bandwidth unit)."""
    # unit conversion: bits/cycle * cycles/s
    return bits_per_cycle * clock_mhz / 1e3


def bandwidth_roof_fps(bits_per_inference: float, bandwidth_gbps: float) -> float:
    """Inferences per second an off-chip bandwidth allows a design moving `bits_per_inference` to and from DRAM."""
    # Williams et al. (roofline model): attainable performance <= bandwidth x operational intensity
    return bandwidth_gbps * 1e9 / bits_per_inference if bits_per_inference else float("inf")


# Widest beat of a weight port: 512-bit AXI, the DDR4 controller's native data width (Xilinx PG150) and
# Vitis HLS's widest automatic m_axi port (UG1399, config_interface -m_axi_max_widen_bitwidth 512).
DRAM_BEAT_BITS = 512


class DramLayout(NamedTuple):
    """How a weight reader's words lie in DRAM (offchip.h): `ports` arrays of `beat`-bit beats; a word's lane l
    on port l // lanes_per_port. Either `words_per_beat` whole words share a beat, or a word spans the ports'
    beats of one address, or (one port) `beats_per_word` consecutive beats of `lanes_per_port` lanes each."""

    beat: int
    ports: int
    lanes_per_port: int
    words_per_beat: int = 1
    beats_per_word: int = 1


def dram_layout(lanes: int, bits: int, period: int = 1) -> DramLayout:
    """The layout of words of `lanes` weights of `bits` bits read by a MAC that spends `period` cycles on
    each (conv.h conv_mac_tiled: its tile; else 1), so the reader delivers a word every `period` cycles
    and the DRAM moves as few bits as it can beyond the word's, which is all the cost model counts (AutoWS:
    width x words per sweep): whole words packed K to a 512-bit beat, a word split over NP ports of whole
    lanes in beats of a power of two bits (AXI data widths), or, when `period` leaves the time, a word in
    up to `period` beats of one port; the fewest bits moved per word, then the fewest ports, then the narrowest
    beat (an m_axi adapter buffers and registers its beat: a 16-bit word in a 16-bit beat takes 1 BRAM18, packed
    32 to a 512-bit beat 15), of equals the first in that order."""
    word = lanes * bits
    options = []  # (bits moved per word, ports, beat bits, layout)
    if word <= DRAM_BEAT_BITS:
        per_beat = DRAM_BEAT_BITS // word
        options.append((DRAM_BEAT_BITS / per_beat, 1, DRAM_BEAT_BITS, DramLayout(DRAM_BEAT_BITS, 1, lanes, per_beat)))
    beat = DRAM_BEAT_BITS
    while beat >= max(8, bits):
        per_port = beat // bits
        ports = -(-lanes // per_port)
        options.append((ports * beat, ports, beat, DramLayout(beat, ports, per_port)))
        beat //= 2
    beat = axi_data_bits(bits)
    while beat <= DRAM_BEAT_BITS:
        per_beat = beat // bits
        beats = -(-lanes // per_beat)
        if 1 < beats <= period:
            options.append((beats * beat, 1, beat, DramLayout(beat, 1, per_beat, 1, beats)))
        beat *= 2
    return min(options, key=lambda o: o[:3])[3]


def axi_data_bits(bits: int) -> int:
    """Data width of an m_axi port carrying `bits`-bit beats: the next AXI width, a power of two >= 8."""
    # AMBA AXI4: data buses are 8 .. 1024 bits in powers of two
    width = 8
    while width < bits:
        width *= 2
    return width


def maxi_adapter(beat_bits: int, burst: int = DDR_BURST) -> tuple[int, Logic]:
    """(BRAM18, logic) of the adapter Vitis HLS builds for one m_axi port used in one direction (a weight
    reader's port, a DRAM ring's writer or reader), `beat_bits` wide."""
    # UG1399 (Controlling AXI4 Burst Behavior; M_AXI Resources): a data FIFO of num_outstanding x
    # max_burst_length beats and a request FIFO of num_outstanding (address, length) requests
    width = axi_data_bits(beat_bits)
    data = bram18(width, MAXI_OUTSTANDING * burst, fifo=True)
    data_lut = 0 if data else lutram_luts(width, MAXI_OUTSTANDING * burst)
    requests = lutram_luts(MAXI_ADDRESS_BITS + MAXI_LENGTH_BITS, MAXI_OUTSTANDING)
    # dfcc analytical estimate (hardware/logic.py): the adapter's control and a register per data bit
    logic = stage_logic(1, width)
    return data, Logic(logic.lut + data_lut + requests, logic.ff)


def weight_reader_adapters(width: int, bits: int, period: int = 1) -> tuple[int, Logic]:
    """(BRAM18, logic) of the m_axi adapters a weight reader's ports take, for words `width` bits wide of
    `bits`-bit weights, one every `period` cycles, laid out as dram_layout lays them."""
    beat, ports, *_ = dram_layout(width // bits, bits, period)
    blocks, logic = maxi_adapter(beat)
    return ports * blocks, Logic(ports * logic.lut, ports * logic.ff)


def reread_rows(h: int, ho: int, kr: int, sr: int, dr: int, pt: int) -> int:
    """Input rows a window generator without a line buffer reads from DRAM per inference: for each output
    row, its kernel's rows that lie inside the image (padding rows are not fetched)."""
    # SMOF (Montgomerie-Corcoran et al.): a conv whose line buffer is evicted re-reads its input rows from
    # DRAM, about Kr times the input's traffic; here exactly the rows each output row's window covers
    return sum(1 for o in range(ho) for k in range(kr) if 0 <= o * sr - pt + k * dr < h)


def evicted_line_buffer_bits(h: int, w: int, c: int, bits: int, ho: int, kr: int, sr: int, dr: int, pt: int) -> int:
    """Off-chip bits per inference of a conv input whose line buffer lives in DRAM: written once, its rows
    read back once per output row whose window covers them."""
    # SMOF: the input is written to DRAM once and re-read (reread_rows) rows of W x C words
    return (h + reread_rows(h, ho, kr, sr, dr, pt)) * w * c * bits


def row_reader_cycles(ho: int, row_beats: int, kr: int, beats: int) -> int:
    """Cycles of the stage that reads a conv's window rows back from DRAM (ddr_rows.h ddr_rows_read): per
    output row and tile of a row's beats, a burst from each of the Kr rows, then the tile's column beats;
    and one cycle per burst token of the ring's `beats`."""
    # dfcc (ddr_rows.h): Kr + 1 pipelined beats per input beat of each output row, a token per DDR_BURST beats
    return ho * row_beats * (kr + 1) + -(-beats // DDR_BURST)
