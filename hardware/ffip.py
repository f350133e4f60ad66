"""Winograd's fast inner product (FFIP) in a MAC array: half the multiplications of every filter's inner product,
paid for by sums one bit wider, a pre-adder a product and a few multiplications the filters share.

S. Winograd, "A new algorithm for inner product", IEEE Trans. Computers 1968; as built for accelerators by
Pogue & Nicolici, "Fast inner-product algorithms and architectures for deep neural network accelerators",
IEEE Trans. Computers 2024 (FIP/FFIP). Pairs of products of one filter, in the integer codes:
qx_a*qw_a + qx_b*qw_b = (qx_a + qw_b) * (qx_b + qw_a) - qx_a*qx_b - qw_a*qw_b; the x-only product is shared by
every filter of a step, the w-only one a constant folded into the bias (backends/hls/include/dfcc/inner_product.h).
"""

from __future__ import annotations

from dfcc.hardware.dsp import dsp_per_multiplier, multiplier_dsp, multipliers_per_dsp
from dfcc.hardware.logic import lut_multiplier


def ffip_pairs(products: int) -> int:
    """Multiplications of one filter's step of `products` products (an odd last one paired with a zero)."""
    # Winograd (1968): one multiplication per pair of products
    return -(-products // 2)


def ffip_multipliers(filters: int, products: int, copies: int = 1) -> tuple[int, int]:
    """(products of the filters, x-only products) a cycle: `filters` filter lanes each taking a step of
    `products` products, in `copies` pixel copies (conv.h conv_mac's P) that share nothing but the weights."""
    # Pogue & Nicolici (2024) FFIP: a multiplier per pair per filter, plus one per pair for the x-only term that
    # every filter of the step shares
    pairs = ffip_pairs(products)
    return copies * filters * pairs, copies * pairs


def operand_bits(x_bits: int, x_signed: bool, w_bits: int) -> int:
    """Bits of a pair's multiplier operand qx + qw (a signed w, an x signed or not)."""
    # two's complement sum: one bit over the wider signed operand (an unsigned x takes a sign bit first)
    return max(x_bits + (0 if x_signed else 1), w_bits) + 1


def ffip_pays(filters: int, products: int, x_bits: int, x_signed: bool, w_bits: int) -> bool:
    """Whether FFIP takes fewer DSPs than the direct products: no DSP packing at these widths (WP486 packs two
    8-bit products sharing an operand, FFIP's share none), the widened and the x-only multipliers each on as
    many DSPs as a direct one, and fewer multipliers in all."""
    # Xilinx WP486 / WP521 packing and the DSP48E2 27x18 multiplier (hardware/dsp.py); Pogue & Nicolici (2024)
    s = operand_bits(x_bits, x_signed, w_bits)
    one = dsp_per_multiplier(x_bits, w_bits)
    if multipliers_per_dsp(x_bits, w_bits) != 1 or dsp_per_multiplier(s, s) != one \
            or dsp_per_multiplier(x_bits, x_bits) != one:
        return False
    return sum(ffip_multipliers(filters, products)) < filters * products


def ffip_dsp(filter_mults: int, x_mults: int, x_bits: int, x_signed: bool, w_bits: int) -> int:
    """DSP slices of FFIP's multipliers: the filters' at the widened widths, the x-only ones at x's."""
    # fpgaConvNet DSP model (hardware/dsp.py) at each multiplier's operand widths
    s = operand_bits(x_bits, x_signed, w_bits)
    return multiplier_dsp(filter_mults, s, s) + multiplier_dsp(x_mults, x_bits, x_bits)


def ffip_mult_lut(filter_mults: int, x_mults: int, x_bits: int, x_signed: bool, w_bits: int) -> int:
    """LUTs of FFIP's multipliers built in fabric: array multipliers at their widths, and each filter product's
    second operand sum (on a DSP it is its pre-adder) in the carry chain."""
    # Walters (2016) array multiplier (hardware/logic.py lut_multiplier); UG574 CARRY8: an adder 1 LUT a bit
    s = operand_bits(x_bits, x_signed, w_bits)
    return filter_mults * (lut_multiplier(s, s) + s) + x_mults * lut_multiplier(x_bits, x_bits)


def ffip_adder_luts(filter_mults: int, x_bits: int, x_signed: bool, w_bits: int) -> int:
    """LUTs of the operand sums a DSP's pre-adder cannot take: of the two sums of a pair, the DSP48E2's 27-bit
    pre-adder forms one, the fabric the other."""
    # UG579 DSP48E2 pre-adder (D +/- A) feeds the multiplier; UG574 CARRY8: a fabric adder 1 LUT a bit
    return filter_mults * operand_bits(x_bits, x_signed, w_bits)


def ffip_cost(filters: int, products: int, copies: int, x_bits: int, x_signed: bool, w_bits: int
              ) -> tuple[int, int, int, int]:
    """(multipliers, DSPs, their LUTs in fabric, the fabric operand sums' LUTs) of a MAC array pairing its
    products by FFIP: `filters` filter lanes of `products` products a step, in `copies` pixel copies."""
    # Pogue & Nicolici (2024) FFIP array, costed by the formulas above
    filter_mults, x_mults = ffip_multipliers(filters, products, copies)
    return (filter_mults + x_mults, ffip_dsp(filter_mults, x_mults, x_bits, x_signed, w_bits),
            ffip_mult_lut(filter_mults, x_mults, x_bits, x_signed, w_bits),
            ffip_adder_luts(filter_mults, x_bits, x_signed, w_bits))
