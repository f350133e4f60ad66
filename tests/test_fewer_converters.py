"""Property-based test (Hypothesis): `_Search._fewer_converters` skips, without evaluating it, a trial whose nodes
alone take more DSPs than the budget (`_dsps_fit`); on any design and DSP budget it must pick what it picks with
every trial evaluated. Seeded (derandomize) and bounded."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dfcc.hardware.platforms import load_platform
from dfcc.passes.explore import _Search
from tests.test_converter_walk import _network


class _EveryTrialEvaluated(_Search):
    def _dsps_fit(self, totals, n, choice) -> bool:
        return True


@settings(max_examples=20, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_skipping_trials_over_the_dsp_budget_picks_what_evaluating_them_picks(data):
    network = _network()
    options = [m.folding_options() for m in network.nodes]
    picks = list(network.ir_choices())
    for _ in range(data.draw(st.integers(1, 4), label="changed nodes")):
        n = data.draw(st.integers(0, len(picks) - 1), label="node")
        picks[n] = (data.draw(st.sampled_from(options[n]), label="folding"),) + picks[n][1:]
    platform = load_platform("zcu102")
    dsps = network.evaluate(picks).dsp
    # a DSP budget from well under the design's to well over it: the refits that take more DSPs are the ones skipped
    budget = dsps * data.draw(st.sampled_from([0.5, 1.0, 1.05, 1.3, 3.0]), label="budget / design's DSPs")
    reserve = {"dsp": 0.9 * platform.dsp - budget}
    found = []
    for kind in (_Search, _EveryTrialEvaluated):
        search = kind(network, platform, 0.9, 0, reserve=reserve)
        found.append(search._fewer_converters(picks, search.evaluate(picks)))
    (skipped, skipped_totals), (evaluated, evaluated_totals) = found
    assert skipped == evaluated
    assert skipped_totals == evaluated_totals
