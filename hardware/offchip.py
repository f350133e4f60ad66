"""Off-chip spilling (AutoWS, SMOF): BRAM saved and bandwidth spent by keeping weights,
activations or skip connections in DRAM, and the slowdown when the DRAM cannot keep up.

Bandwidths are in bits per clock cycle unless the name says Gbps.
"""

from dataclasses import dataclass

from dfcc.hardware.memory import bram18

# One BRAM18 deep in its widest (36 x 512) aspect: the unit AutoWS streams weights through.
SPILL_UNIT_DEPTH = 512


@dataclass(frozen=True, slots=True)
class WeightSpill:
    """A conv stage's weight memory with part of it off chip."""

    bram18: int  # on-chip words plus the one-unit stream buffer
    bits_per_cycle: float  # off-chip read bandwidth the stage needs at full rate


def weight_spill(
    width: int, depth: int, off_words: int, unit_depth: int = SPILL_UNIT_DEPTH
) -> WeightSpill:
    """Keep `off_words` of a width x depth weight memory off chip.

    The stage reads its weight memory cyclically; the off-chip words must arrive while it reads
    the on-chip words and the buffered unit. Check (HARDWARE_MODEL.md): 4608 x 2048 with half off
    chip needs 1024*4608/(1024+512) = 3072 bits/cycle, and its weights drop from 512 BRAM18 to
    256 (on-chip half) + 128 (4608 x 512 buffer) = 384; with the sliding window's 8 + 6 BRAM18
    the stage goes from 526 to 398 BRAM18.
    """
    if off_words == 0:
        return WeightSpill(bram18(width, depth), 0.0)
    on = depth - off_words
    # AutoWS (Yu & Bouganis), spilled weights bandwidth off*width/(on + unit_depth)
    bits = off_words * width / (on + unit_depth)
    # AutoWS (Yu & Bouganis), BRAM of the on-chip part plus a one-unit stream buffer
    return WeightSpill(bram18(width, on) + bram18(width, unit_depth), bits)


def streamed_weight_bits(width: int, depth: int, sweeps: int) -> int:
    """Off-chip bits per inference of a stage whose whole weight memory streams from DRAM."""
    # AutoWS (Yu & Bouganis) with nothing kept on chip: every sweep of the weight memory fetches
    # each of its width x depth words once (a conv sweeps once per output pixel, a linear per row)
    return width * depth * sweeps


def stream_bits_per_cycle(words: int, bits: int, ii: float) -> float:
    """Average bandwidth of a stream moving `words` per inference in a pipeline of interval ii."""
    # dataflow streaming: one inference's words spread over one initiation interval
    return words * bits / ii


def activation_spill_bits(input_bits_per_cycle: float, kr: int) -> float:
    """Bandwidth of a stage whose input activations are re-read from DRAM (no line buffer)."""
    # SMOF (Toupas et al.): without a line buffer each input row is fetched Kr times
    return input_bits_per_cycle * kr


def skip_spill_bits(bits_per_cycle: float) -> float:
    """Bandwidth of a skip connection held in DRAM instead of a FIFO: written once, read once."""
    # SMOF (Toupas et al.): evicted skip connection costs its bandwidth twice
    return 2 * bits_per_cycle


def bandwidth_limited_ii(ii: float, bits_per_cycle: float, max_bits_per_cycle: float) -> float:
    """Pipeline interval once off-chip traffic is counted: DRAM-bound designs slow down."""
    # AutoWS / SMOF: II' = II * BW_total / BW_max when BW_total > BW_max
    return ii * bits_per_cycle / max_bits_per_cycle if bits_per_cycle > max_bits_per_cycle else ii


def gbps(bits_per_cycle: float, clock_mhz: float) -> float:
    """Bits per cycle at a clock, in Gbit/s (the platform bandwidth unit)."""
    # unit conversion: bits/cycle * cycles/s
    return bits_per_cycle * clock_mhz / 1e3
