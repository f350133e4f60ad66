"""DSP slices: how many a stage's multipliers take, with low-precision packing."""


def dsp_per_multiplier(a_bits: int, b_bits: int) -> int:
    """DSP48 slices for one a x b multiplier (27x18 multiplier per DSP48E2)."""
    # fpgaConvNet resource_analytical_model (after FINN): ceil(wa/18)*ceil(wb/27); the tool may
    # put either operand on the 27-bit port, so take the better orientation
    return min(-(-a_bits // 18) * -(-b_bits // 27), -(-b_bits // 18) * -(-a_bits // 27))


def multipliers_per_dsp(a_bits: int, b_bits: int) -> int:
    """How many narrow multiplications one DSP packs (Xilinx WP486 INT8, WP521 INT4 packing)."""
    # Xilinx WP486 / WP521 packing: x0.5 DSP when both <= 8 bits, x0.25 when both <= 4 bits
    if a_bits <= 4 and b_bits <= 4:
        return 4
    return 2 if a_bits <= 8 and b_bits <= 8 else 1


def multiplier_dsp(multipliers: int, a_bits: int, b_bits: int) -> int:
    """DSP slices for `multipliers` parallel a x b multipliers, packed where narrow enough."""
    # fpgaConvNet DSP model with WP486/WP521 packing, rounded up to whole slices
    pack = multipliers_per_dsp(a_bits, b_bits)
    return -(-multipliers * dsp_per_multiplier(a_bits, b_bits) // pack)


def conv_multipliers(coarse_in: int, coarse_out: int, fine: int, coarse_group: int = 1) -> int:
    """Parallel multipliers of a folded conv stage (a linear layer is fine=1)."""
    # fpgaConvNet conv layer: ci*co*cg*fine multipliers
    return coarse_in * coarse_out * coarse_group * fine


def macs_per_dsp(a_bits: int, b_bits: int) -> float:
    """MACs one DSP completes per cycle at these widths (the DSP roofline's MACs_per_DSP)."""
    # inverse of the DSP-per-multiplier model above with packing
    return multipliers_per_dsp(a_bits, b_bits) / dsp_per_multiplier(a_bits, b_bits)


def dsp_lanes(multipliers: int, share: int) -> int:
    """How many of a stage's parallel multipliers (its first lanes) stay on DSPs at `share` percent, the
    others built in fabric (multiply.h split_mul)."""
    # dfcc: a share rounds down to whole multipliers
    return multipliers * share // 100


def split_dsp(dsp: int, multipliers: int, kept: int) -> int:
    """DSP slices of `kept` of a stage's `multipliers` parallel multipliers when all of them take `dsp`."""
    # fpgaConvNet's DSP model is linear in the multipliers (ceil(m x DSP per multiplier / packing)): the
    # kept ones' share of the slices, rounded up to whole slices
    return -(-dsp * kept // multipliers)
