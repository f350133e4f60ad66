"""Network's skip FIFOs remember `held_inferences` by a join input's spans taken from its writer's first beat
(analyses/network.py `_skip_fifos`): a FIFO holds as much whenever both its ends' spans move in time together.
Property-based (Hypothesis), seeded and bounded."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dfcc.hardware.memory import held_inferences

_CYCLES = st.floats(0.0, 1e5, allow_nan=False)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.integers(1, 10 ** 5), _CYCLES, _CYCLES, _CYCLES, _CYCLES, st.floats(-1e6, 1e6, allow_nan=False))
def test_a_fifo_holds_as_much_when_both_ends_move_together(ii, write_first, write_span, read_after, read_span, shift):
    read_first = write_first + read_after
    spans = (write_first, write_first + write_span, read_first, read_first + read_span)
    moved = [end + shift for end in spans]
    assert held_inferences(ii, *moved) == pytest.approx(held_inferences(ii, *spans), rel=1e-9, abs=1e-9)


def test_a_fifo_held_at_a_later_start_is_the_one_at_zero():
    # writer over [1000, 1100], reader over [1050, 1150], every 200 cycles: half an inference, as from 0
    assert held_inferences(200, 1000, 1100, 1050, 1150) == held_inferences(200, 0, 100, 50, 150) == 0.5
