"""Physical upper bounds on throughput that no folding can beat."""


def dsp_roofline(dsp: int, macs_per_dsp: float, clock_mhz: float, macs: float) -> float:
    """Inferences/s if every DSP did a useful MAC every cycle."""
    # roofline model (Williams et al.), compute roof DSP*MACs_per_DSP*f/MACs
    return dsp * macs_per_dsp * clock_mhz * 1e6 / macs


def multiplier_roofline(dsp: int, dsp_per_mac: float, lut: int, lut_per_mac: float, clock_mhz: float,
                        macs: float) -> float:
    """Inferences/s if every DSP and every LUT were a multiplier doing a useful MAC every cycle
    (the explorer may build multipliers from either, so both count)."""
    # roofline model (Williams et al.) with two compute roofs added: (DSP/DSP_per_MAC + LUT/LUT_per_MAC)*f/MACs
    capacity = dsp / dsp_per_mac + (lut / lut_per_mac if lut_per_mac else 0.0)
    return capacity * clock_mhz * 1e6 / macs
