"""analyses/forked.py: a map over tasks in forked workers gives the sequential map's results and raises its
exception, and leaves no worker behind; and explore with jobs=2 finds the design jobs=1 finds (Hypothesis over
small random CNNs, boards and budgets; seeded and bounded), a worker's failure reaching the caller as the same
diagnostic, while jobs=1 never forks."""

import multiprocessing
import os
import re
import signal

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.forked import fork_map, jobs_of
from dfcc.analyses.network import Network
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.passes import explore as explore_pass
from dfcc.passes.explore import Explore, _Search, explore

from tests.test_converter_walk import _Branches
from tests.test_estimate import NET
from tests.test_ffip import _chain_unchosen
from tests.test_random_cnns import random_cnn
from tests.torch_differential import lower


def _pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


def test_results_come_back_in_order_computed_in_as_many_processes_as_jobs():
    results = fork_map(_pid_and_square, list(range(7)), jobs=3)
    assert [square for _, square in results] == [n * n for n in range(7)]
    pids = [pid for pid, _ in results]
    assert pids[0::3] == [os.getpid()] * 3  # the caller's share: tasks 0, 3, 6
    assert len(set(pids)) == 3 and all(pid != os.getpid() for pid in pids[1::3] + pids[2::3])
    assert not multiprocessing.active_children()


def test_one_job_never_forks(monkeypatch):
    def no_fork(*args, **kwargs):
        raise AssertionError("forked with jobs=1")

    monkeypatch.setattr(multiprocessing.get_context("fork"), "Process", no_fork)
    assert fork_map(_pid_and_square, [1, 2, 3], jobs=1) == [(os.getpid(), n * n) for n in (1, 2, 3)]
    module = parse_module(NET)
    Explore(platform="zedboard", jobs=1).apply(make_context(), module)  # would raise if it forked


def _fails_from(first: int):
    def task(n: int) -> int:
        if n >= first:
            raise DfccError(f"task {n} failed", location="here")
        return n
    return task


@pytest.mark.parametrize("first", [0, 1, 2, 3])
def test_the_first_failing_task_raises_as_in_sequence(first):
    """Tasks 0, 2 run in the caller, 1, 3 in the worker: whichever fails first in order is the one raised."""
    with pytest.raises(DfccError) as sequential:
        fork_map(_fails_from(first), [0, 1, 2, 3], jobs=1)
    with pytest.raises(DfccError) as forked:
        fork_map(_fails_from(first), [0, 1, 2, 3], jobs=2)
    assert str(forked.value) == str(sequential.value) == f"here: task {first} failed"
    assert not multiprocessing.active_children()


def _dies_in_worker(n: int) -> int:
    if n == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def test_a_worker_that_dies_is_an_error_not_a_hang():
    with pytest.raises(ChildProcessError, match="ended without an answer, exit code -9"):
        fork_map(_dies_in_worker, [0, 1], jobs=2)
    assert not multiprocessing.active_children()


def test_jobs_setting():
    assert jobs_of("auto") == len(os.sched_getaffinity(0))
    assert jobs_of(3) == 3
    for bad in (0, -1, "many", True, 1.5):
        with pytest.raises(ValueError):
            jobs_of(bad)
    with pytest.raises(DfccError, match="explore: jobs must be auto or a positive number, got 0"):
        Explore(platform="zedboard", jobs=0).apply(make_context(), parse_module(NET))


def _branches() -> ModuleOp:
    torch.manual_seed(0)
    return lower(_Branches(), torch.randn(1, 3, 8, 8))


def _design(module: ModuleOp, board: str, utilisation: float, jobs: int) -> str:
    """The design explore finds, and the bound each of fit_lanes' rules proved (the worker's sent back with jobs=2:
    `_split_below` reads the winner's)."""
    rules = []
    with_rule = _Search.with_rule

    def recorded(search, cheaper_end):
        other = with_rule(search, cheaper_end)
        rules.extend((search, other))
        return other

    network = Network.from_module(module.clone())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Search, "with_rule", recorded)
        choices, totals = explore(network, load_platform(board), utilisation, progress=False, jobs=jobs)
    return repr((choices, totals, [rule.proven_infeasible for rule in rules]))


@settings(max_examples=6, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(graph=st.one_of(st.just(-1), st.integers(0, 10**6)), board=st.sampled_from(["zedboard", "zcu102", "u250"]),
       utilisation=st.sampled_from([0.1, 0.3, 0.9]))
@example(graph=-1, board="zedboard", utilisation=0.1)  # DSPs bind: three split targets tried (`_split_below`)
def test_two_jobs_find_the_design_one_job_finds(graph, board, utilisation):
    module = _branches() if graph < 0 else lower(*random_cnn(graph))
    try:
        sequential = _design(module, board, utilisation, jobs=1)
    except DfccError as error:  # nothing fits: the same error either way
        with pytest.raises(DfccError, match=re.escape(str(error))):
            _design(module, board, utilisation, jobs=2)
        return
    assert _design(module, board, utilisation, jobs=2) == sequential


def test_a_search_failing_in_a_worker_is_the_diagnostic_one_job_gives(monkeypatch):
    """The consumer-first rule's search (the worker's, with jobs=2) raises: the pass reports it as with jobs=1."""
    bisect = explore_pass._bisect

    def failing(search, best, advance, *ceiling):
        if not search.cheaper_end:
            raise DfccError("the consumer-first search failed")
        return bisect(search, best, advance, *ceiling)

    monkeypatch.setattr(explore_pass, "_bisect", failing)
    messages = []
    for jobs in (1, 2):
        with pytest.raises(DfccError) as error:
            Explore(platform="zedboard", jobs=jobs).apply(make_context(), parse_module(NET))
        messages.append(str(error.value))
    assert messages[0] == messages[1] == "the consumer-first search failed"
    assert not multiprocessing.active_children()


def _spaces_as_costed(module: ModuleOp, board: str, jobs: int) -> tuple[list[str], list[int]]:
    """The nodes' points of each `_node_spaces` call explore makes in turn on one `known` (the direct points, FFIP's
    added, the splits on those, weights in DRAM, every node alone) and the tasks of each fork_map they ran."""
    network, platform, known, tasks = Network.from_module(module.clone()), load_platform(board), {}, []
    fork_map_of = explore_pass.fork_map

    def counted(function, jobs_asked, how_many):
        tasks.append(len(jobs_asked))
        return fork_map_of(function, jobs_asked, how_many)

    spaces = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(explore_pass, "fork_map", counted)
        for off_chip, share, ffip, splits in ((False, True, False, False), (False, True, True, False),
                                              (False, True, True, True), (True, True, False, False),
                                              (False, False, False, False)):
            found = explore_pass._node_spaces(network, platform, off_chip, False, share, splits, known, ffip,
                                              jobs=jobs)
            spaces.append(repr([(space.choices, space.cycles.tolist(), space.usage.tolist(),
                                 space.folding_ids.tolist()) for space in found]))
    spaces.append(repr(list(known)))
    return spaces, tasks


@pytest.mark.parametrize("graph, board", [("branches", "zedboard"), ("ffip chain", "u250")])
def test_two_jobs_cost_the_node_spaces_one_job_costs(graph, board):
    """The chain's MAC nodes take either inner product: FFIP's points are costed after, added to the direct ones."""
    module = _branches() if graph == "branches" else _chain_unchosen()
    sequential, tasks = _spaces_as_costed(module, board, jobs=1)
    forked, forked_tasks = _spaces_as_costed(module, board, jobs=2)
    assert forked == sequential
    assert forked_tasks == tasks and max(tasks) > 1  # tasks shared with a worker: the nodes not costed before


def test_one_job_costs_the_node_spaces_without_forking(monkeypatch):
    def no_fork(*args, **kwargs):
        raise AssertionError("forked with jobs=1")

    monkeypatch.setattr(multiprocessing.get_context("fork"), "Process", no_fork)
    spaces, tasks = _spaces_as_costed(_branches(), "zedboard", jobs=1)
    assert max(tasks) > 1 and spaces[0] != "[]"
