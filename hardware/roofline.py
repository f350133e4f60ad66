"""Physical upper bounds on throughput that no folding can beat."""


def dsp_roofline(dsp: int, macs_per_dsp: float, clock_mhz: float, macs: float) -> float:
    """Inferences/s if every DSP did a useful MAC every cycle."""
    # roofline model (Williams et al.), compute roof DSP*MACs_per_DSP*f/MACs
    return dsp * macs_per_dsp * clock_mhz * 1e6 / macs

