"""The Optuna search engine: TPE for one objective, NSGA-II Pareto fronts, constraints, and trials
shared by worker processes through a storage."""

from __future__ import annotations

import pytest

pytest.importorskip("optuna")

from dfcc.analyses.search import Constraint, Objective, Problem, SearchResult, TrialResult, search  # noqa: E402
from dfcc.errors import DfccError  # noqa: E402


def _bowl(params):
    return {"loss": (params["x"] - 3) ** 2 + (params["y"] - 7) ** 2, "cost": params["x"] + params["y"]}


SPACE = {"x": list(range(10)), "y": list(range(10))}


def test_single_objective_tpe_finds_the_minimum():
    result = search(Problem(SPACE, _bowl, [Objective("loss")]), trials=60, seed=0)
    assert len(result.trials) == 60
    assert result.best("loss", "minimize").metrics["loss"] <= 1  # 60 of 100 points, guided


def test_seeds_run_first():
    result = search(Problem(SPACE, _bowl, [Objective("loss")], seeds=[{"x": 3, "y": 7}]), trials=3)
    assert result.trials[0].params == {"x": 3, "y": 7} and result.trials[0].metrics["loss"] == 0


def _trial(number, loss, cost, feasible=True):
    return TrialResult(number, {}, {"loss": loss, "cost": cost}, feasible)


def test_pareto_front_by_hand():
    objectives = [Objective("loss", "minimize"), Objective("cost", "maximize")]
    trials = [_trial(0, 1, 5), _trial(1, 2, 9), _trial(2, 2, 4), _trial(3, 0, 1), _trial(4, 0, 9, feasible=False),
              _trial(5, 1, 5)]
    # 2 is beaten by 0; 5 ties 0 (kept once); 4 is infeasible
    assert [t.number for t in SearchResult(trials, objectives).pareto()] == [3, 0, 1]


def test_nsga2_front_respects_constraint():
    problem = Problem(SPACE, _bowl, [Objective("loss"), Objective("cost", "maximize")],
                      constraints=[Constraint("cost", 12)])
    result = search(problem, trials=40, seed=1)
    front = result.pareto()
    assert front and all(t.metrics["cost"] <= 12 for t in front)
    assert all(not t.feasible for t in result.trials if t.metrics["cost"] > 12)
    for a in front:  # nobody on the front is dominated by any feasible trial
        assert not any(b.metrics["loss"] <= a.metrics["loss"] and b.metrics["cost"] >= a.metrics["cost"]
                       and b.metrics != a.metrics for b in result.trials if b.feasible)


def test_workers_share_a_storage_and_runs_resume(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    problem = Problem(SPACE, _bowl, [Objective("loss"), Objective("cost", "maximize")])
    first = search(problem, trials=8, storage=storage, study="bowl", workers=2)
    assert len(first.trials) == 8
    second = search(problem, trials=4, storage=storage, study="bowl")  # another program, same study
    assert len(second.trials) == 12


def test_missing_metric_is_an_error():
    with pytest.raises(DfccError, match="returned no cost"):
        search(Problem(SPACE, lambda p: {"loss": 1.0}, [Objective("loss"), Objective("cost")]), trials=1)
