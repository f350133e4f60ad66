"""Where deep stream FIFOs live: out of BRAM, into URAM (or LUTRAM when shallow), while BRAM binds.

A skip connection's FIFO holds a few hundred beats of a wide word (ResNet-50's at 16 bits: 2,048-bit beats,
about 200 deep), so in BRAM18 it takes ceil(2048/36) = 57 blocks a FIFO, each an eighth to a half full. A
URAM288 is 72 bits wide and 4,096 deep (UG573), so the same FIFO takes 29 URAMs, and a board with URAM to spare
(U250: 1,280) holds them there for free; a FIFO no deeper than a LUT RAM (64 words) fits LUTRAM.
`place_fifos` is the rule (its moves ranked by `ranked_moves`, taken by `take_moves`): the estimate's network totals
apply it (analyses/network.py, `fifo_limits`, keeping each design's ranked moves for the next), so a search sees the
BRAM it frees, and the memory it picks is the stream type's `memory`, which the HLS design binds.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from dfcc.hardware.memory import LUTRAM_DEPTH, fifo_blocks

_OTHER = {"uram": "uram", "lutram": "lut"}  # the resource a FIFO moved out of BRAM takes instead


def place_fifos(fifos: list[tuple[int, int]], used: dict[str, float], limits: dict[str, float]) -> list[str]:
    """The memory of each (width, depth) FIFO (dialects/dataflow.py FIFO_MEMORIES), given the design's
    `used` BRAM18, URAM and LUT with every FIFO in `auto` memory and the `limits` of each.

    While BRAM18 is over its limit, FIFOs move to URAM, or to LUTRAM if at most LUTRAM_DEPTH deep, keeping that
    resource within its limit: the most BRAM18 freed per share of the other resource's limit first. A design
    whose BRAM fits keeps every FIFO where Vitis HLS puts it (`auto`)."""
    chosen = ["auto"] * len(fifos)
    if used["bram18"] <= limits["bram18"]:
        return chosen
    moves = [(rank, i, *move) for i, fifo in enumerate(fifos) for rank, *move in ranked_moves(*fifo, limits)]
    for i, memory in take_moves(sorted(moves), used, limits).items():
        chosen[i] = memory
    return chosen


def take_moves(moves: Iterable[tuple], used: dict[str, float], limits: dict[str, float]) -> dict:
    """The rule's moves taken, given in its order (rank, then the FIFO's position: (rank, fifo, memory, BRAM18 freed,
    resource taken, amount), `ranked_moves`): while BRAM18 is over its limit, each that keeps its resource within
    its limit; the memory of each FIFO moved, by the FIFO given."""
    chosen = {}
    used = dict(used)
    for _, fifo, memory, bram, resource, amount in moves:
        if used["bram18"] <= limits["bram18"]:
            break
        if fifo not in chosen and used[resource] + amount <= limits[resource]:
            chosen[fifo] = memory
            used["bram18"] -= bram
            used[resource] += amount
    return chosen


def ranked_moves(width: int, depth: int, limits: dict[str, float]) -> tuple[tuple[float, str, int, str, int], ...]:
    """The moves of a width x depth FIFO out of BRAM within `limits`: (rank, memory, BRAM18 it frees, resource it
    takes, amount), the rank the BRAM18 freed per share of the resource's limit, negated (the least first)."""
    return _ranked(width, depth, limits["uram"], limits["lut"])


@cache  # a search places the same FIFOs again and again (zoo DenseNet-121 U250: ~570 a design, ~9,000 designs)
def _ranked(width: int, depth: int, uram: float, lut: float) -> tuple[tuple[float, str, int, str, int], ...]:
    limits = {"uram": uram, "lut": lut}
    return tuple((-bram * limits[resource] / max(amount, 1), memory, bram, resource, amount)
                 for memory, bram, resource, amount in _moves(width, depth) if limits[resource] > 0)


def _moves(width: int, depth: int) -> tuple[tuple[str, int, str, int], ...]:
    """Each memory a width x depth FIFO in BRAM may move to: (memory, BRAM18 it frees, resource it takes, amount)."""
    bram = fifo_blocks(width, depth)[0]  # a FIFO in BRAM takes no LUTs
    if not bram:
        return ()
    moves = []
    for memory in ("uram", "lutram") if depth <= LUTRAM_DEPTH else ("uram",):
        _, uram, luts = fifo_blocks(width, depth, memory)
        moves.append((memory, bram, _OTHER[memory], uram if memory == "uram" else luts))
    return tuple(moves)
