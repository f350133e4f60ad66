"""On-chip memories: how many BRAM18 / URAM blocks a width x depth array takes, and the
dimensions of the memories a convolution stage needs (weights, line buffer, window buffer).

Widths are in bits, depths in words. Plain integer arithmetic: the DSE calls these in its loop.
"""

import math
from functools import cache

# Xilinx 7-series/UltraScale BRAM18 aspect ratios (width bits, depth words); UG473 / UG573.
BRAM18_ASPECTS = ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512))
URAM_WIDTH, URAM_DEPTH = 72, 4096  # UltraScale+ URAM288 (UG573)
LUT_PER_BRAM18 = 288  # LUTRAM trade (UG574 distributed RAM): 18 Kib / 64 bits per LUT6
LUTRAM_DEPTH = 64  # words of a LUT6 RAM (RAM64X1, UG574): shallower memories are a LUT a bit whatever their depth
SATAY_FIFO_MARGIN = 64  # extra skip-FIFO depth SATAY adds
FIFO_SRL_DEPTH = 32  # Vitis HLS maps FIFOs up to this depth to shift registers, not BRAM


def bram18(width: int, depth: int, fifo: bool = False) -> int:
    """BRAM18 blocks for a width x depth memory, at its cheapest aspect ratio."""
    # fpgaConvNet resource_analytical_model (bram_array_resource_model), small arrays go to LUTs
    if width * depth < 1024 or (fifo and depth <= FIFO_SRL_DEPTH):
        return 0
    # UG573 cascading: ceil(width/bw)*ceil(depth/bd), cheapest (bw, bd) of the BRAM18 aspects
    best = width * depth  # bound from the 1-bit aspect; a plain loop is 40% faster than min()
    for bw, bd in BRAM18_ASPECTS:
        n = -(-width // bw) * -(-depth // bd)
        if n < best:
            best = n
    return best


def bram18_two_reads(width: int, depth: int) -> int:
    """BRAM18 blocks for a width x depth memory read at two addresses a cycle (both ports), at its cheapest
    aspect ratio: what `bram18` counts, without the 36-bit aspect."""
    # UG573 (block RAM): a RAMB18 is 36 bits wide in simple dual-port mode only (one read port, one write port);
    # in true dual-port mode, two read ports, it is at most 18 bits wide
    if width * depth < 1024:
        return 0
    return min(-(-width // bw) * -(-depth // bd) for bw, bd in BRAM18_ASPECTS if bw <= 18)


def uram(width: int, depth: int) -> int:
    """URAM288 blocks for a width x depth memory (fixed 72 x 4096 aspect)."""
    # fpgaConvNet resource_analytical_model (uram_array_resource_model)
    return -(-width // URAM_WIDTH) * -(-depth // URAM_DEPTH)


def uram_rows(width: int, depth: int, bits: int) -> int:
    """Rows of a URAM ROM one word of `bits`-bit weights takes: 2 (its halves in rows 2d and 2d+1, half
    as wide and twice as deep, both ports reading one each cycle) where that takes fewer URAM288, else 1."""
    # UG573 (UltraRAM): two 72-bit ports, each reading one address per cycle
    half = -(-(width // bits) // 2) * bits
    return 2 if uram(half, 2 * depth) < uram(width, depth) else 1


def uram_rom(width: int, depth: int, bits: int) -> int:
    """URAM288 blocks of a ROM read one word a cycle, at its cheaper row layout (`uram_rows`)."""
    rows = uram_rows(width, depth, bits)
    return uram(-(-(width // bits) // rows) * bits, rows * depth)


def lutram_luts(width: int, depth: int) -> int:
    """LUTs for a memory held in LUTRAM instead of BRAM (64 bits per LUT6)."""
    # Xilinx UG474/UG574: a LUT6 is a 64x1 RAM; at BRAM18 size this is the 288 LUT/BRAM18 trade
    return -(-width * depth // 64)


def lutram_fifo_luts(width: int, depth: int) -> int:
    """LUTs of a FIFO bound to LUTRAM: simple dual-port RAM64M8s (one write port, one read port)."""
    # UG574 (RAM64M8): 8 LUT6s of a SLICEM make a 64-deep x 7-bit simple dual-port RAM
    return -(-width // 7) * -(-depth // LUTRAM_DEPTH) * 8


@cache  # a search asks it of the same FIFOs again and again (DenseNet-121 zoo U250: ~10 % of explore in bram18)
def fifo_blocks(width: int, depth: int, memory: str = "auto") -> tuple[int, int, int]:
    """(BRAM18, URAM288, LUT) of a width x depth FIFO in `memory` (dialects/dataflow.py FIFO_MEMORIES): the
    one statement of what a stream's FIFO takes, read by the estimate and bound by the HLS design alike."""
    if memory == "uram":  # UG573: URAM288 is 72 x 4096 only; wider words take blocks side by side
        return 0, uram(width, depth), 0
    if memory == "lutram":
        return 0, 0, lutram_fifo_luts(width, depth)
    blocks = bram18(width, depth, fifo=True)  # auto: Vitis HLS's choice, BRAM unless small (FIFO_SRL_DEPTH)
    return blocks, 0, 0 if blocks else lutram_luts(width, depth)


def lutram_two_reads_luts(width: int, depth: int) -> int:
    """LUTs for a LUTRAM read at two addresses a cycle: a dual-port RAM64X1D takes two LUT6 a bit of 64 words."""
    # UG574 (distributed RAM): RAM64X1D, one read-write and one read-only port, is two LUT6
    return 2 * lutram_luts(width, depth)


def lane_banks(lanes: int, depth: int) -> int:
    """Memories a buffer whose lanes are all read and written each cycle at one address (window.h's line
    buffer and window registers) is built as: one, its lanes packed into a word, unless it is shallower than
    a LUT RAM, then one a lane (a wide shallow word would take BRAM18 mostly empty; a lane of a few words
    takes LUTRAM, `array_cost`)."""
    # UG574: a LUT6 RAM is 64 deep, so below that depth a lane costs its LUTs packed or not; UG573: a
    # BRAM18 is at most 36 bits wide, so a packed word of W bits takes ceil(W/36) whatever its depth
    return lanes if depth < LUTRAM_DEPTH else 1


def conv_weight_memory(
    channels: int, filters: int, kr: int, kc: int, bits: int,
    coarse_in: int, coarse_out: int, fine: int, groups: int = 1, coarse_group: int = 1,
) -> tuple[int, int]:
    """(width, depth) of a conv stage's weight memory: one word per compute cycle of a pixel."""
    # fpgaConvNet conv weights: width w*fine*ci*co*cg
    width = bits * fine * coarse_in * coarse_out * coarse_group
    # fpgaConvNet conv weights: depth F/g*C*K^2/(fine*ci*co*cg), rounded up per folded loop
    depth = (
        -(-channels // (coarse_in * coarse_group))
        * -(-(kr * kc) // fine)
        * -(-filters // (coarse_out * groups))
    )
    return width, depth


def line_buffer(
    channels: int, cols: int, kr: int, bits: int,
    coarse_in: int, coarse_group: int = 1, pad_left: int = 0, pad_right: int = 0,
) -> tuple[int, int]:
    """(width, depth) of a sliding window's line buffer: Kr-1 padded rows of every stream."""
    # fpgaConvNet sliding window: depth C/(ci*cg)*(W+pl+pr), width (Kr-1)*streams*bits
    streams = coarse_in * coarse_group
    return (kr - 1) * streams * bits, -(-channels // streams) * (cols + pad_left + pad_right)


def window_buffer(
    channels: int, kr: int, kc: int, bits: int, coarse_in: int, coarse_group: int = 1,
) -> tuple[int, int]:
    """(width, depth) of a sliding window's window buffer: Kr*(Kc-1) pixels of every channel.

    Besides the line buffer, fpgaConvNet's sliding window also buffers
    Kr*(Kc-1) window positions of every channel. For 3x3, C=256, ci=2, 16 bit that is 192 x 128
    bits = 6 BRAM18, which with 512 (weights) and 8 (line buffer) makes the 526 BRAM18 of the
    AutoWS spill check.
    """
    # fpgaConvNet sliding window (memory_usage): Kr*(Kc-1) window FIFOs of depth C per stream
    streams = coarse_in * coarse_group
    return kr * (kc - 1) * streams * bits, -(-channels // streams)


def skip_fifo_depth(delay_difference: int, margin: int = SATAY_FIFO_MARGIN) -> int:
    """Depth of the FIFO that lets a skip connection wait for the longer branch."""
    # SATAY (Montgomerie-Corcoran et al.): path-delay difference plus a margin of 64
    return delay_difference + margin


def rate_limited_burst(words: float, pace: float, rate: float, gap: float) -> float:
    """Most words a FIFO holds of a burst of `words` written `pace` a cycle into a reader taking at most `rate` a
    cycle, whose writer then works `gap` cycles before its next burst: what the reader has not taken when the burst
    ends, but no more than it takes over the gap (holding more feeds it no sooner)."""
    # dfcc: the writer's next burst must not wait for this one to drain, and the reader is kept fed through the
    # gap, as the simulated sizing keeps every stage's completions (analyses/fifo_sizing.py)
    return max(0.0, min(words * (1 - rate / pace), gap * rate))


def held_inferences(ii: float, write_first: float, write_last: float, read_first: float, read_last: float) -> float:
    """Most words a FIFO holds, in inferences: its writer spreads each inference's words evenly over
    [write_first, write_last], its reader over [read_first, read_last], both again every `ii` cycles."""
    # SATAY's skip FIFO holds the path-delay difference; here the peak of words written less words read, both
    # piecewise linear, so at one of the four span ends, taken in the steady state (dfcc)
    write_span, read_span = max(write_last - write_first, 1.0), max(read_last - read_first, 1.0)
    steady = max(write_last, read_last) + ii  # every earlier inference's span is over on both ends
    most = 0.0
    for end in (write_first, write_last, read_first, read_last):
        t = end + math.ceil((steady - end) / ii) * ii
        held = _moved(t, write_first, write_span, ii) - _moved(t, read_first, read_span, ii)
        if held > most:
            most = held
    return most


def _moved(t: float, first: float, span: float, ii: float) -> float:
    """Inferences' words one end of a FIFO has moved by cycle `t`, inference j's spread evenly over `span` cycles
    from `first` + j x `ii`."""
    last = math.floor((t - first) / ii)  # the last inference begun by t
    if span <= ii:  # one span at a time: those before it are done, it has moved its share
        return last + min(1.0, (t - first - last * ii) / span)
    # spans longer than the II overlap: every inference begun has moved its share, all of it up to those whose span
    # is over by t (`done` of them, one fewer than the bound says in case it rounds up: that one's share, 1, is in
    # the sum), then the others' shares, summed in order
    done = max(min(math.floor((t - first - span) / ii), last + 1), 0)
    return sum((min(1.0, max(0.0, (t - first - j * ii) / span)) for j in range(done, last + 1)), float(done))
