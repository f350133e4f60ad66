"""Off-chip traffic (AutoWS, SMOF): bits moved by weights streamed from DRAM, and the slowdown
when the DRAM cannot keep up.

Bandwidths are in bits per clock cycle unless the name says Gbps.
"""

# One BRAM18 deep in its widest (36 x 512) aspect: the unit AutoWS streams weights through.
SPILL_UNIT_DEPTH = 512
# Vitis HLS m_axi default `latency` (UG1399, pragma HLS interface): cycles from a read request to its data
DRAM_LATENCY_CYCLES = 64
DDR_BURST = 16  # beats per m_axi burst (Vitis HLS's default max burst length, UG1399)


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


def prefetch_depth(off_words: int) -> int:
    """Depth of the FIFO between a node's weight reader and its MAC when `off_words` of each sweep stream
    from DRAM, spread evenly among the on-chip ones (offchip.h's no-starvation argument)."""
    # H2PIPE: the bursts in flight during one DRAM latency (depth >= burst * k); AutoWS: one BRAM deep
    # (less if the streamed part is shallower)
    covering = -(-DRAM_LATENCY_CYCLES // DDR_BURST) * DDR_BURST
    return max(covering, min(off_words, SPILL_UNIT_DEPTH))


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
