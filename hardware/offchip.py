"""Off-chip traffic (AutoWS, SMOF): bits moved by weights streamed from DRAM, and the slowdown
when the DRAM cannot keep up.

Bandwidths are in bits per clock cycle unless the name says Gbps.
"""

# One BRAM18 deep in its widest (36 x 512) aspect: the unit AutoWS streams weights through.
SPILL_UNIT_DEPTH = 512


def streamed_weight_bits(width: int, depth: int, sweeps: int) -> int:
    """Off-chip bits per inference of a stage whose whole weight memory streams from DRAM."""
    # AutoWS (Yu & Bouganis) with nothing kept on chip: every sweep of the weight memory fetches
    # each of its width x depth words once (a conv sweeps once per output pixel, a linear per row)
    return width * depth * sweeps


def bandwidth_limited_ii(ii: float, bits_per_cycle: float, max_bits_per_cycle: float) -> float:
    """Pipeline interval once off-chip traffic is counted: DRAM-bound designs slow down."""
    # AutoWS / SMOF: II' = II * BW_total / BW_max when BW_total > BW_max
    return ii * bits_per_cycle / max_bits_per_cycle if bits_per_cycle > max_bits_per_cycle else ii


def gbps(bits_per_cycle: float, clock_mhz: float) -> float:
    """Bits per cycle at a clock, in Gbit/s (the platform bandwidth unit)."""
    # unit conversion: bits/cycle * cycles/s
    return bits_per_cycle * clock_mhz / 1e3
