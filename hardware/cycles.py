"""Cycle counts of streaming stages and of the whole layer-pipelined network.

A folding factor that does not divide its loop rounds that loop up (spare lanes idle); with
dividing factors every formula is exactly the published one.
"""

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Vitis HLS (UG1399): cycles from a pipelined loop iteration's first read to its write for dfcc's
# kernels (read, compute, write registers); the pipeline depth of every streaming stage.
PIPELINED_LOOP_LATENCY = 3


def stage_cycles(words_in: float, rate_in: float, words_out: float, rate_out: float) -> float:
    """Cycles of a stage bounded by what it reads and writes at its port rates (words/cycle)."""
    # fpgaConvNet (Venieris & Bouganis), module latency = max(words_in/rate_in, words_out/rate_out)
    return max(words_in / rate_in, words_out / rate_out)


def streaming_cycles(rows: int, cols: int, channels: int, coarse: int) -> int:
    """Cycles of a pixel-streaming stage (pool, relu, eltwise, concat) with `coarse` lanes."""
    # fpgaConvNet layers other than conv: H*W*C/coarse
    return rows * cols * -(-channels // coarse)


def conv_cycles(
    rows: int, cols: int, channels: int, filters: int, kr: int, kc: int,
    rows_out: int, cols_out: int, coarse_in: int, coarse_out: int, fine: int,
    groups: int = 1, coarse_group: int = 1,
    pad_top: int = 0, pad_bottom: int = 0, pad_left: int = 0, pad_right: int = 0,
) -> int:
    """Cycles per inference of a folded dense convolution (input-bound or compute-bound)."""
    streams = coarse_in * coarse_group
    # fpgaConvNet (Venieris & Bouganis), conv layer input term (H+pt+pb)(W+pl+pr)*C/(ci*cg)
    read = (rows + pad_top + pad_bottom) * (cols + pad_left + pad_right) * -(-channels // streams)
    # fpgaConvNet (Venieris & Bouganis), conv compute term Ho*Wo*(C*K^2/(fine*ci*cg))*(F/(co*g))
    compute = (
        rows_out * cols_out * -(-channels // streams) * -(-(kr * kc) // fine)
        * -(-filters // (coarse_out * groups))
    )
    return max(read, compute)


@dataclass(frozen=True)
class WindowWalk:
    """A sliding-window generator's walk over one inference, as its consumer sees it: the walk's own cycles, the
    window beats it emits, and each kind of gap between consecutive beats as (how often it occurs, cycles from the
    generator passing the earlier beat to the later one being readable)."""

    walk: int
    beats: int
    gaps: tuple[tuple[int, int], ...]

    def stage_cycles(self, cycles_per_beat: int, depth: int = 2) -> int:
        """Cycles per inference of a stage spending `cycles_per_beat` on each beat, fed through a `depth`-deep
        stream: a gap of g cycles stalls it g - (depth + 1) * cycles_per_beat (the beats queued and its own)."""
        # max-plus recursion of a producer/consumer pair over a bounded FIFO (Baccelli et al., Synchronization
        # and Linearity, 1992, ch. 2)
        stalls = sum(n * max(0, gap - (depth + 1) * cycles_per_beat) for n, gap in self.gaps)
        return max(self.walk, self.beats * cycles_per_beat + stalls)

    def shallowest_depth(self, cycles_per_beat: int, most: int) -> int:
        """The shallowest stream depth of 2..`most` at which the stage takes as few cycles as at `most`."""
        fewest = self.stage_cycles(cycles_per_beat, most)
        if self.stage_cycles(cycles_per_beat) == fewest:
            return 2
        low, high = 3, most  # stage_cycles does not grow with the depth: bisect
        while low < high:
            mid = (low + high) // 2
            low, high = (low, mid) if self.stage_cycles(cycles_per_beat, mid) == fewest else (mid + 1, high)
        return low


@functools.lru_cache(maxsize=4096)  # explore asks for the same walk under every folding of its lanes
def window_walk(
    rows_out: int, cols_out: int, padded_rows: int, padded_cols: int, stride_r: int, stride_c: int,
    beats_per_pixel: int, input_interval: int = 1, pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    span: tuple[int, int] = (1, 1),
) -> WindowWalk:
    """The walk of window.h sliding_window over one inference (`windowed_stage_cycles`)."""
    cb, r = beats_per_pixel, input_interval
    hp, wp = padded_rows, padded_cols
    pt, pb, pl, pr = pads
    inputs = (hp - pt - pb) * (wp - pl - pr)

    def padding_before(position: int) -> int:
        """Padding positions the walk passes before row-major `position` (counted on into the next inference)."""
        n, rows = divmod(position, hp * wp)
        rows, col = divmod(rows, wp)
        pad_rows = min(rows, pt) + max(0, rows - (hp - pb))
        in_row = col if rows < pt or rows >= hp - pb else min(col, pl) + max(0, col - (wp - pr))
        return n * (hp * wp - inputs) + pad_rows * wp + (rows - pad_rows) * (pl + pr) + in_row

    def gap(first: int, last: int) -> int:
        """Cycles from a window emitted at walk position `first` to the next one at `last` being readable."""
        beats = (last - first - 1) * cb + 1
        padding = min((padding_before(last) - padding_before(first + 1)) * cb, beats - 1)
        return (beats - padding) * r + padding + 2

    first = (span[0] - 1) * wp + span[1] - 1  # where the first window is emitted
    row_end = first + (cols_out - 1) * stride_c
    last = row_end + (rows_out - 1) * stride_r * wp
    return WindowWalk(
        walk=(inputs * r + hp * wp - inputs) * cb, beats=rows_out * cols_out * cb,
        gaps=((rows_out * cols_out * (cb - 1), gap(0, 1)), (rows_out * (cols_out - 1), gap(first, first + stride_c)),
              (rows_out - 1, gap(row_end, first + stride_r * wp)), (1, gap(last, hp * wp + first))),
    )


def windowed_stage_cycles(
    rows_out: int, cols_out: int, padded_rows: int, padded_cols: int, stride_r: int, stride_c: int,
    beats_per_pixel: int, cycles_per_beat: int, depth: int = 2, input_interval: int = 1,
    pads: tuple[int, int, int, int] = (0, 0, 0, 0), span: tuple[int, int] = (1, 1),
) -> int:
    """Cycles per inference of a stage fed by a sliding-window generator through a `depth`-deep stream.

    The generator walks the padded input (`pads`: top, bottom, left, right; padding is made up at one
    beat a cycle) and reads each input beat as it comes, one per `input_interval` cycles (1, or the
    widening of a lane converter in front of it); it emits a window (`span` rows and columns) only on
    the stride grid, and the stage spends `cycles_per_beat` on each beat. Beat n+1, `gap` generator
    cycles after beat n, can start no earlier than 2 cycles after the generator passes it (written, then
    read), and the generator was at most `depth` beats ahead: a stall of gap + 2 - (depth + 1) * cycles_per_beat.
    """
    # Vitis HLS UG1399: a dataflow hls::stream without a STREAM pragma is 2 deep; the gaps are those of
    # fpgaConvNet's sliding window walk (H+pt+pb)(W+pl+pr)
    walk = window_walk(rows_out, cols_out, padded_rows, padded_cols, stride_r, stride_c, beats_per_pixel,
                       input_interval, pads, span)
    return walk.stage_cycles(cycles_per_beat, depth)


def tiled_conv_cycles(input_beats: int, pixels_out: int, beats_per_pixel: int, steps_per_beat: int,
                      out_beats_per_pixel: int) -> int:
    """Cycles per inference of a weight-stationary conv (conv.h conv_tiled): per tile of output pixels it
    reads the input rows the tile adds to its buffer, applies each weight word to every pixel of the tile,
    then writes the tile's outputs, the three in turn; over the inference every input beat once."""
    # Zhang et al. (FPGA'15, loop tiling with Tr x Tc output tiles): load, compute and store of a tile in turn
    # (no double buffering), the overlap of adjacent tiles' inputs kept on chip; fpgaConvNet's terms: the input
    # H*W*C/ci beats, the MACs Ho*Wo*C/ci*F/co*K^2/fine, the outputs Ho*Wo*F/co beats
    return input_beats + pixels_out * beats_per_pixel * steps_per_beat + pixels_out * out_beats_per_pixel


def expected_window_cycles(zero_histograms, k2: int, fine: int, skip_zero_windows: bool = True) -> np.ndarray:
    """Expected cycles of one window against one filter, over the last axis of P(z) (one histogram per
    input channel, or per input channel and filter)."""
    # PASS (Montgomerie-Corcoran et al., arXiv 2307.07821) / HASS (arXiv 2406.03088): ceil((K^2-z)/fine), all-zero 0|1
    cost = np.array([-(-(k2 - z) // fine) for z in range(k2)] + [0 if skip_zero_windows else 1], dtype=np.float64)
    return np.asarray(zero_histograms, dtype=np.float64) @ cost


def snake_assignment(channel_cycles: Sequence[float], streams: int) -> list[list[int]]:
    """Each stream's channels, in slot order: channels sorted by expected cycles, most expensive first
    (ties by index), dealt to the streams in snake order (0..S-1, then S-1..0, ...)."""
    # PASS (arXiv 2307.07821): sorted channels dealt to the ci*cg streams in snake order to balance their workload
    order = sorted(range(len(channel_cycles)), key=lambda c: (-channel_cycles[c], c))
    slots: list[list[int]] = [[] for _ in range(streams)]
    for n, c in enumerate(order):
        lane = n % streams
        slots[lane if (n // streams) % 2 == 0 else streams - 1 - lane].append(c)
    return slots


def sparse_conv_cycles(
    rows: int, cols: int, channels: int, filters: int, rows_out: int, cols_out: int,
    lanes_in: int, lanes_out: int, pe_loads: Sequence[float],
    pad_top: int = 0, pad_bottom: int = 0, pad_left: int = 0, pad_right: int = 0,
) -> float:
    """Expected cycles of a zero-skipping conv stage whose processing elements spend `pe_loads[p]`
    expected cycles on each output pixel; the slowest PE sets the pace."""
    # PASS (arXiv 2307.07821) / HASS (arXiv 2406.03088) expected workload sum_z P(z)*ceil((K^2-z)/fine) per
    # window, taken as in dfcc's sparse_conv.h: the glue waits for every PE, so Ho*Wo*max over PEs of its load
    compute = rows_out * cols_out * max(pe_loads)
    # fpgaConvNet input and output transfer terms bound the stage below
    read = (rows + pad_top + pad_bottom) * (cols + pad_left + pad_right) * -(-channels // lanes_in)
    write = rows_out * cols_out * -(-filters // lanes_out)
    return max(read, write, compute)


def sliding_window_fill(
    cols: int, channels: int, kr: int, kc: int, coarse_in: int, coarse_group: int = 1,
    pad_left: int = 0, pad_right: int = 0,
) -> int:
    """Cycles before a sliding window emits its first window: Kr-1 rows plus Kc-1 pixels."""
    # fpgaConvNet sliding window pipeline depth, its window term taken as Kc-1 pixels (not Kr*(Kc-1))
    per_stream = -(-channels // (coarse_in * coarse_group))
    return ((cols + pad_left + pad_right) * (kr - 1) + (kc - 1)) * per_stream


def px_walk(cols: int, pads: tuple[int, int, int, int], pixels: int) -> tuple[int, tuple[int, int, int, int]]:
    """A sliding window over P whole pixels a beat walks each padded row in ceil(WP/P) steps of P columns, and reads
    at each step the beat holding its last column while that is in the image: the steps of a padded row, and the
    padding in those steps (top and bottom rows, then the steps of a row before and after its reads)."""
    # Ma et al. (FPGA'17) Pox columns a step; dfcc window.h sliding_window_px's walk (analyses/schedules.py)
    pt, pb, pl, pr = pads
    steps = -(-(cols + pl + pr) // pixels)
    before = max(0, -(-(pl - pixels + 1) // pixels))
    return steps, (pt, pb, before, steps - before - cols // pixels)


def px_stage_cycles(rows_out: int, cols_out: int, rows: int, cols: int, strides: tuple[int, int],
                    pads: tuple[int, int, int, int], pixels: int, cycles_per_beat: int, input_interval: int = 1) -> int:
    """`windowed_stage_cycles` of a stage fed by a sliding window over P whole pixels a beat (`px_walk`): a group
    of P windows a beat, one step a cycle; its input beats one per `input_interval` cycles (a lane converter
    widening its producer's beats to P pixels) take at least `px_paced_cycles`."""
    # Ma et al. (FPGA'17) Pox columns unrolled, over dfcc window.h sliding_window_px's walk
    steps, step_pads = px_walk(cols, pads, pixels)
    walk = windowed_stage_cycles(rows_out, cols_out // pixels, rows + pads[0] + pads[1], steps, *strides, 1,
                                 cycles_per_beat, pads=step_pads)
    return walk if input_interval == 1 else max(walk, px_paced_cycles(rows, cols, pads, pixels, input_interval))


def px_output_span(rows_out: int, cols_out: int, cols: int, strides: tuple[int, int],
                   pads: tuple[int, int, int, int], pixels: int) -> int:
    """Steps of a sliding window over P whole pixels a beat (`px_walk`) from its first group of P windows to its
    last: Ho-1 strides of rows and Wo/P-1 groups of columns, each group P column strides on."""
    # dfcc window.h sliding_window_px (analyses/schedules.py): the groups' steps, (g*P + P-1)*SC + KC-1 over P
    steps, _ = px_walk(cols, pads, pixels)
    return (rows_out - 1) * strides[0] * steps + (cols_out // pixels - 1) * strides[1]


def px_paced_cycles(rows: int, cols: int, pads: tuple[int, int, int, int], pixels: int, interval: int,
                    depth: int = 2) -> int:
    """Cycles of a sliding window over P whole pixels a beat (`px_walk`) whose beats a lane converter writes one per
    `interval` cycles into a `depth`-deep stream: the converter's `interval` cycles a beat, and in each run of
    padding steps (a row's end and the next one's start; the bottom rows of an inference and the top rows of the
    next) what the converter cannot work ahead of the walk, its stream's beats and the one it holds."""
    # dfcc (checked by analyses/simulation.py): a run of L padding steps stalls the converter L - (depth+1)*interval
    steps, (top, bottom, before, after) = px_walk(cols, pads, pixels)
    ahead = (depth + 1) * interval
    between_rows, between_inferences = before + after, (top + bottom) * steps + before + after
    return (rows * (cols // pixels) * interval + (rows - 1) * max(0, between_rows - ahead)
            + max(0, between_inferences - ahead))


def sliding_window_px_fill(rows_span: int, cols_span: int, col_stride: int, pads: tuple[int, int, int, int],
                           cols: int, pixels: int) -> int:
    """Steps of a sliding window over P whole pixels a beat (`px_walk`) from its first input beat to its first
    group of P windows, emitted at the step holding the group's last column, Kr-1 rows below the top padding."""
    # dfcc window.h sliding_window_px (analyses/schedules.py): fpgaConvNet's fill, in steps of P columns
    steps, (pt, _, before, _) = px_walk(cols, pads, pixels)
    emit = ((pixels - 1) * col_stride + cols_span - 1) // pixels
    return max(0, (rows_span - 1 - pt) * steps + emit - before)


def windows_after_input(
    rows: int, cols: int, rows_out: int, cols_out: int, strides: tuple[int, int], spans: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> int:
    """Output pixels a sliding-window stage computes after its last input pixel: the windows that reach the bottom or
    right padding past it, and the one it completes."""
    # dfcc (window.h sliding_window): a window is emitted when the walk reaches its bottom-right padded position
    (sr, sc), (kr, kc), (pt, _, pl, _) = strides, spans, pads
    last_row, last_col = pt + rows - 1, pl + cols - 1
    count = 0
    for r in range(rows_out):
        bottom = r * sr + kr - 1
        if bottom > last_row:
            count += cols_out
        elif bottom == last_row:
            count += sum(1 for c in range(cols_out) if c * sc + kc - 1 >= last_col)
    return count


def lane_conversion_steps(lanes_in: int, lanes_out: int) -> list[int]:
    """The lanes a stream re-chunked from `lanes_in` to `lanes_out` passes through, one converter
    stage per entry: none if equal, directly if one divides the other, else through their gcd."""
    # dfcc::lanes (backends/hls/include/dfcc/vec.h) needs one of P1, P2 to divide the other
    if lanes_in == lanes_out:
        return []
    if lanes_in % lanes_out == 0 or lanes_out % lanes_in == 0:
        return [lanes_out]
    return [math.gcd(lanes_in, lanes_out), lanes_out]


def lane_converter_cycles(elements: int, lanes_in: int, lanes_out: int) -> int:
    """Cycles per inference of the converters between `lanes_in` and `lanes_out` lanes (0 if equal)."""
    # dfcc::lanes (backends/hls/include/dfcc/vec.h): N/min(P1,P2) iterations of a loop pipelined at II=1
    # (Vitis HLS UG1399); through the gcd both stages move gcd lanes a cycle, so N/gcd
    return elements // math.gcd(lanes_in, lanes_out) if lane_conversion_steps(lanes_in, lanes_out) else 0


def lane_converter_interval(lanes_in: int, lanes_out: int) -> int:
    """Cycles between the converters' output beats when their input keeps up: the last stage fills a
    beat of `lanes_out` from beats of gcd(lanes_in, lanes_out) lanes, one a cycle (1: no widening)."""
    # dfcc::lanes (vec.h): one narrow beat per iteration of a loop pipelined at II=1 (Vitis HLS UG1399);
    # 4 -> 3 lanes goes through 1 lane (lane_conversion_steps), so a 3-lane beat every 3 cycles
    return lanes_out // math.gcd(lanes_in, lanes_out)


def lane_converter_tail(lanes_in: int, lanes_out: int) -> int:
    """Cycles from the converters' last input beat to their last output beat: that beat leaves as lanes_in / gcd
    narrow beats, one a cycle (0: no narrowing)."""
    # dfcc::lanes (vec.h): one narrow beat per iteration of a loop pipelined at II=1 (Vitis HLS UG1399)
    return lanes_in // math.gcd(lanes_in, lanes_out) - 1


def lane_converter_depth(lanes_in: int, lanes_out: int) -> int:
    """Cycles from the converters' first input beat to their first output beat, beats arriving one a cycle."""
    # dfcc::lanes (vec.h): a wide output beat is written in the iteration that fills it, P2/P1 iterations
    # after its first narrow beat was read, then the pipelined loop's latency (UG1399)
    depth, width = 0, lanes_in
    for lanes in lane_conversion_steps(lanes_in, lanes_out):
        depth += lanes // min(width, lanes) - 1 + PIPELINED_LOOP_LATENCY
        width = lanes
    return depth


def network_ii(stage_latencies: Sequence[float]) -> float:
    """Initiation interval of a layer pipeline: its slowest stage."""
    # fpgaConvNet (Venieris & Bouganis), II = max over stages
    return max(stage_latencies)


def batch_cycles(ii: float, batch: int, pipeline_depth: float) -> float:
    """Cycles to push `batch` inferences through; depth is summed along the longest path."""
    # fpgaConvNet (Venieris & Bouganis), latency = II*batch + pipeline depth
    return ii * batch + pipeline_depth


def throughput(clock_mhz: float, ii: float) -> float:
    """Inferences per second of a pipeline issuing one inference every `ii` cycles."""
    # fpgaConvNet (Venieris & Bouganis), throughput = f / II
    return clock_mhz * 1e6 / ii
