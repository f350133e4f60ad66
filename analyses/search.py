"""A generic search engine for hardware-aware compression searches, built on Optuna.

A search is a space (named categorical choices), an evaluation returning named metrics, objectives
(metric names to minimise or maximise) and constraints (metrics that must stay <= 0). One objective
uses TPE, several NSGA-II (Pareto front). Trials can run in several worker processes, or in several
programs on several machines, sharing one Optuna storage (`storage="sqlite:///search.db"`, any
SQLAlchemy URL, or Optuna's journal file storage): every worker loads the same study by name.

The decomposition search (`passes/decompose_search.py`) and, later, the sparsity search use it.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dfcc.errors import DfccError

DIRECTIONS = ("minimize", "maximize")
METRICS_KEY = "metrics"


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: str = "minimize"

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise DfccError(f"objective '{self.metric}': direction must be minimize or maximize, got '{self.direction}'")


@dataclass(frozen=True)
class Constraint:
    """metric <= limit (or >= limit with `at_least`): a trial that breaks it is infeasible."""

    metric: str
    limit: float
    at_least: bool = False

    def violation(self, metrics: dict[str, float]) -> float:
        value = metrics[self.metric]
        return self.limit - value if self.at_least else value - self.limit


@dataclass
class Problem:
    """What to search: `space[name]` lists the choices of one decision; `evaluate(params)` returns
    every metric the objectives and constraints name. `seeds` are points tried first (baselines)."""

    space: dict[str, Sequence]
    evaluate: Callable[[dict], dict[str, float]]
    objectives: list[Objective]
    constraints: list[Constraint] = field(default_factory=list)
    seeds: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class TrialResult:
    number: int
    params: dict
    metrics: dict[str, float]
    feasible: bool


@dataclass
class SearchResult:
    trials: list[TrialResult]
    objectives: list[Objective]

    def pareto(self) -> list[TrialResult]:
        """Feasible trials no other feasible trial beats in every objective (ties kept once)."""
        feasible = [t for t in self.trials if t.feasible]
        keys = [tuple(_signed(t.metrics[o.metric], o) for o in self.objectives) for t in feasible]
        front, seen = [], set()
        for trial, key in zip(feasible, keys):
            dominated = any(all(a <= b for a, b in zip(other, key)) and other != key for other in keys)
            if not dominated and key not in seen:
                seen.add(key)
                front.append(trial)
        return sorted(front, key=lambda t: _signed(t.metrics[self.objectives[0].metric], self.objectives[0]))

    def best(self, metric: str, direction: str = "maximize", where: Callable[[TrialResult], bool] = lambda t: True) -> TrialResult | None:
        """The feasible trial with the best `metric` among those `where` accepts."""
        pool = [t for t in self.trials if t.feasible and where(t)]
        if not pool:
            return None
        return (max if direction == "maximize" else min)(pool, key=lambda t: t.metrics[metric])


def _signed(value: float, objective: Objective) -> float:
    return value if objective.direction == "minimize" else -value


def _sampler(problem: Problem, seed: int):
    """TPE for one objective, NSGA-II for several; both read the constraints each trial records."""
    import optuna

    if len(problem.objectives) == 1:
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.NSGAIISampler(seed=seed)


def _study(problem: Problem, storage: str | None, name: str, seed: int, create: bool):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions = [o.direction for o in problem.objectives]
    if create:
        return optuna.create_study(storage=storage, study_name=name, directions=directions,
                                   sampler=_sampler(problem, seed), load_if_exists=True)
    return optuna.load_study(storage=storage, study_name=name, sampler=_sampler(problem, seed))


def _objective(problem: Problem):
    def run(trial):
        params = {key: trial.suggest_categorical(key, list(choices)) for key, choices in problem.space.items()}
        metrics = {k: float(v) for k, v in problem.evaluate(params).items()}
        missing = {o.metric for o in problem.objectives} | {c.metric for c in problem.constraints}
        missing -= set(metrics)
        if missing:
            raise DfccError(f"search: the evaluation returned no {', '.join(sorted(missing))}")
        trial.set_user_attr(METRICS_KEY, metrics)
        for index, constraint in enumerate(problem.constraints):
            trial.set_constraint(f"{index}:{constraint.metric}", constraint.violation(metrics))
        values = [metrics[o.metric] for o in problem.objectives]
        return values[0] if len(values) == 1 else values
    return run


def _worker(problem: Problem, storage: str, name: str, seed: int, trials: int) -> None:
    study = _study(problem, storage, name, seed, create=False)
    study.optimize(_objective(problem), n_trials=trials)


def search(problem: Problem, trials: int, seed: int = 0, storage: str | None = None, study: str = "dfcc",
           workers: int = 1) -> SearchResult:
    """Run `trials` trials (spread over `workers` processes) and return every trial of the study.

    With `storage`, trials already in the study (from earlier runs or other machines) count too, and
    the seeds are only enqueued into a new study."""
    if trials < 0 or workers < 1:
        raise DfccError(f"search: trials={trials} must be >= 0 and workers={workers} >= 1")
    for key, choices in problem.space.items():
        if not choices:
            raise DfccError(f"search: decision '{key}' has no choices")
    temporary = None
    if workers > 1 and storage is None:  # processes share trials through a storage: a private file
        temporary = tempfile.NamedTemporaryFile(suffix=".db", delete=False)
        temporary.close()
        storage = f"sqlite:///{temporary.name}"
    try:
        created = _study(problem, storage, study, seed, create=True)
        if not created.trials:
            for point in problem.seeds:
                created.enqueue_trial(point)
        if workers == 1:
            created.optimize(_objective(problem), n_trials=trials)
        else:
            context = multiprocessing.get_context("fork")  # the problem's closures are inherited, not pickled
            shares = [trials // workers + (1 if i < trials % workers else 0) for i in range(workers)]
            processes = [context.Process(target=_worker, args=(problem, storage, study, seed + i, n)) for i, n in enumerate(shares) if n]
            for process in processes:
                process.start()
            for process in processes:
                process.join()
            failed = [p.exitcode for p in processes if p.exitcode]
            if failed:
                raise DfccError(f"search: {len(failed)} worker process(es) failed (exit codes {failed})")
            created = _study(problem, storage, study, seed, create=False)
        return SearchResult(_results(created, problem), list(problem.objectives))
    finally:
        if temporary is not None:
            os.unlink(temporary.name)


def _results(study, problem: Problem) -> list[TrialResult]:
    import optuna

    results = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        metrics = trial.user_attrs.get(METRICS_KEY, {})
        feasible = all(c.violation(metrics) <= 0 for c in problem.constraints)
        results.append(TrialResult(trial.number, dict(trial.params), metrics, feasible))
    return results
