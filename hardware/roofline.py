"""Physical upper bounds on throughput that no folding can beat."""


def dsp_roofline(dsp: int, macs_per_dsp: float, clock_mhz: float, macs: float) -> float:
    """Inferences/s if every DSP did a useful MAC every cycle."""
    # roofline model (Williams et al.), compute roof DSP*MACs_per_DSP*f/MACs
    return dsp * macs_per_dsp * clock_mhz * 1e6 / macs


def multiplier_roofline(dsp: int, dsp_per_mac: float, lut: int, lut_per_mac: float, clock_mhz: float,
                        macs: float, adder_lut_per_mac: float = 0.0) -> float:
    """Inferences/s if every DSP and every LUT did a useful MAC every cycle: the explorer may build
    multipliers from either, so both count. Every MAC also needs its accumulating adder in LUTs
    (`adder_lut_per_mac`, on a DSP or not), so the DSPs come first (their MACs take fewest LUTs) and
    the LUTs left over are fabric MACs (multiplier plus adder)."""
    # roofline model (Williams et al.), compute roof = the most MACs per cycle within DSP and LUT:
    # on DSP x = min(DSP/DSP_per_MAC, LUT/adder), in fabric (LUT - x*adder)/(LUT_per_MAC + adder); times f/MACs
    on_dsp = dsp / dsp_per_mac
    if adder_lut_per_mac:
        on_dsp = min(on_dsp, lut / adder_lut_per_mac)
    fabric = (lut - on_dsp * adder_lut_per_mac) / (lut_per_mac + adder_lut_per_mac) if lut_per_mac else 0.0
    return (on_dsp + fabric) * clock_mhz * 1e6 / macs
