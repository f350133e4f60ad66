"""Property-based test (Hypothesis): `Network.converters` and `Network.lanes` walk only what changed since the last
design asked (the search's designs differ at a few nodes); any sequence of designs must give the converters and
lanes a fresh Network's full walk gives. Seeded (derandomize) and bounded."""

import functools
from dataclasses import replace

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from dfcc.analyses.network import Network
from tests.torch_differential import lower


class _Branches(nn.Module):
    """Channel counts that share few divisors (3, 6, 8, 12, 20: converters through the gcd), a residual join, a
    channel concat and a strided conv, so lanes change at many nodes and reach joins from both sides."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 12, 3, padding=1)
        self.narrow = nn.Conv2d(12, 8, 1)
        self.wide = nn.Conv2d(12, 12, 3, padding=1)
        self.down = nn.Conv2d(20, 6, 3, stride=2, padding=1)
        self.head = nn.Linear(6 * 4 * 4, 10)

    def forward(self, x):
        stem = torch.relu(self.stem(x))
        joined = torch.cat([self.narrow(stem), torch.relu(self.wide(stem) + stem)], dim=1)
        return self.head(torch.flatten(torch.relu(self.down(joined)), 1))


@functools.cache
def _network() -> Network:
    torch.manual_seed(0)
    return Network.from_module(lower(_Branches(), torch.randn(1, 3, 8, 8)))


@settings(max_examples=25, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_walk_from_the_last_design_finds_what_a_fresh_walk_finds(data):
    network = _network()
    options = [m.folding_options() for m in network.nodes]
    base = network.ir_choices()
    walked = Network(network.nodes, network.edges)  # one network asked the whole sequence, as a search asks it
    for _ in range(data.draw(st.integers(1, 12), label="designs")):
        trial = list(base)
        for _ in range(data.draw(st.integers(1, 4), label="changed nodes")):
            n = data.draw(st.integers(0, len(trial) - 1), label="node")
            folding = data.draw(st.sampled_from(options[n]), label="folding")
            trial[n] = (folding,) + trial[n][1:]
        fresh = Network(network.nodes, network.edges)
        assert walked.converters(trial) == fresh.converters(trial)
        assert walked.lanes(trial) == fresh.lanes(trial)
        # the lanes of a design differing at one node, from those of the one before it
        n = data.draw(st.integers(0, len(trial) - 1), label="moved node")
        moved = list(trial)
        moved[n] = (data.draw(st.sampled_from(options[n]), label="its folding"),) + moved[n][1:]
        assert walked.lanes(moved, walked.lanes(trial), n) == Network(network.nodes, network.edges).lanes(moved)
        if data.draw(st.booleans(), label="kept"):
            base = trial
        trial[0] = (data.draw(st.sampled_from(options[0]), label="changed after"),) + trial[0][1:]
        assert walked.converters(trial) == Network(network.nodes, network.edges).converters(trial)


@settings(max_examples=25, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_an_evaluate_from_the_last_design_finds_what_a_fresh_evaluate_finds(data):
    """`Network.evaluate` walks again only from the first node whose cost or input converters differ from the last
    design's (and traces again from the first node at another II), and costs again only the FIFOs whose depth or
    width differ (their moves out of BRAM too): any sequence gives a fresh Network's totals, its FIFOs and their
    memories in the same order."""
    network = _network()
    options = [m.folding_options() for m in network.nodes]
    base = network.ir_choices()
    # every other stream 64 deep in the IR: with IR depths, its FIFO's width changes with its writer's lanes alone
    edges = [replace(e, ir_depth=64) if k % 2 else e for k, e in enumerate(network.edges)]
    walked = Network(network.nodes, edges)
    for _ in range(data.draw(st.integers(1, 12), label="designs")):
        trial = list(base)
        for _ in range(data.draw(st.integers(1, 3), label="changed nodes")):
            n = data.draw(st.integers(0, len(trial) - 1), label="node")
            trial[n] = (data.draw(st.sampled_from(options[n]), label="folding"),) + trial[n][1:]
        # a bandwidth that slows some designs' II (the trace's feed), and a BRAM budget some designs' FIFOs exceed
        options_asked = dict(max_bits_per_cycle=data.draw(st.sampled_from([None, 0.01]), label="bandwidth"),
                             trace_latency=data.draw(st.booleans(), label="latency"),
                             fifo_limits=data.draw(st.sampled_from([None, {"bram18": 0.0, "uram": 100.0, "lut": 1e6},
                                                                    {"bram18": 0.0, "uram": 1.0, "lut": 0.0}]),
                                                   label="limits"),
                             respect_ir_depths=data.draw(st.booleans(), label="IR depths"))
        got = walked.evaluate(trial, **options_asked)
        want = Network(network.nodes, edges).evaluate(trial, **options_asked)
        assert got == want
        assert list(got.fifo_depths.items()) == list(want.fifo_depths.items())
        assert list(got.fifo_memories.items()) == list(want.fifo_memories.items())
        if data.draw(st.booleans(), label="kept"):
            base = trial
