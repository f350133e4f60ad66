"""LUT and FF estimates: a simple analytical model of dfcc's own, NOT fpgaConvNet's regression.

fpgaConvNet fits linear regressions per module on synthesis results; dfcc has none yet, so it
counts the logic a streaming stage obviously needs: one adder per product (the fine-input
adder trees plus the ci-input tree and accumulator of each output), a multiplier in LUTs only when
it is not on a DSP, a register per operand bit, and a fixed control cost per stage. Treat the
result as an order-of-magnitude figure for utilisation caps, not a prediction of Vivado's report.
"""

from dataclasses import dataclass

from dfcc.hardware.cycles import lane_conversion_steps

# Rough FSM, loop counters and AXI-stream handshakes of one HLS dataflow process (dfcc estimate).
STAGE_CONTROL_LUT = 200
STAGE_CONTROL_FF = 200


@dataclass(frozen=True, slots=True)
class Logic:
    """LUT and FF counts; add them across stages."""

    lut: int
    ff: int

    def __add__(self, other: "Logic") -> "Logic":
        return Logic(self.lut + other.lut, self.ff + other.ff)


def lut_multiplier(a_bits: int, b_bits: int) -> int:
    """LUTs of an a x b multiplier built from fabric (no DSP)."""
    # conventional array multiplier, one LUT6 (and carry-chain cell) per partial-product bit: Walters,
    # "Array multipliers for high throughput in Xilinx FPGAs with 6-input LUTs", Computers 5(4), 2016
    return a_bits * b_bits


def mac_logic(
    multipliers: int, a_bits: int, b_bits: int, acc_bits: int, on_dsp: bool = True
) -> Logic:
    """Logic of `multipliers` parallel MACs: one acc_bits adder and operand registers each."""
    # dfcc analytical estimate: carry-chain adder = 1 LUT + 1 pipeline FF per bit (UG574 CARRY8)
    lut = multipliers * (acc_bits + (0 if on_dsp else lut_multiplier(a_bits, b_bits)))
    ff = multipliers * (acc_bits + a_bits + b_bits)
    return Logic(lut, ff)


def stage_logic(lanes: int, bits: int) -> Logic:
    """Logic of a stage without multipliers: control plus one mux and register per lane bit."""
    # dfcc analytical estimate: fixed control + 1 LUT and 1 FF per streamed bit
    return Logic(STAGE_CONTROL_LUT + lanes * bits, STAGE_CONTROL_FF + lanes * bits)


def mux_luts(bits: int, ways: int) -> int:
    """LUTs of a `ways`:1 selection of a `bits`-bit value (1 way: a wire)."""
    # UG574 (CLB slices): a LUT6 is a 4:1 multiplexer, a tree of them takes ceil((ways-1)/3) LUT6 per bit
    return bits * -(-(ways - 1) // 3)


def lane_converter_logic(lanes_in: int, lanes_out: int, bits: int) -> Logic:
    """Logic of the converters from `lanes_in` to `lanes_out` lanes of `bits` (dfcc::lanes, vec.h), stage by
    stage: a narrowing one holds the wide beat and muxes its K parts onto the output, a widening one shifts the
    narrow beats into the wide one (no mux); either registers a wide beat."""
    total = Logic(0, 0)
    width = lanes_in
    for lanes in lane_conversion_steps(lanes_in, lanes_out):
        # dfcc::lanes (vec.h): a K:1 mux per output bit when narrowing (LUT6 mux tree, UG574), none when widening
        # (each register bit loads its neighbour, on the flip-flop's clock enable, UG574)
        mux = mux_luts(lanes * bits, width // lanes) if lanes < width else 0
        total += Logic(STAGE_CONTROL_LUT + mux, STAGE_CONTROL_FF + max(width, lanes) * bits)
        width = lanes
    return total


def winograd_logic(triples: int, filters: int, v_bits: int, u_bits: int, m_bits: int) -> Logic:
    """Logic of Winograd F(2,3)'s transforms around `triples` x `filters` lanes of 4 multipliers (conv.h
    conv_mac_wino): each input triple's 4 adders (V = B^T d), each weight triple's 3 (U = 2 G g, g0 + g2 shared)
    and each filter's 4 output adders (A^T M: M0 + M1 + M2, M1 - M2 - M3), a register per result bit."""
    # Lavin & Gray (CVPR 2016) F(2,3): B^T 4 additions, G 3 with g0 + g2 shared, A^T 4; UG574 carry chain: a LUT
    # and a pipeline FF per adder bit, as mac_logic
    lut = triples * 4 * v_bits + triples * filters * 3 * u_bits + filters * 4 * m_bits
    return Logic(lut, lut)
