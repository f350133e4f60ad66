"""A map over independent tasks in forked worker processes: explore's searches on the cores this process may use.

`fork_map(function, tasks, jobs)` is `[function(task) for task in tasks]`, the same list whatever `jobs` is, as long
as `function` depends on nothing another task changes. With `jobs` > 1 (`jobs_of("auto")`: the cores the scheduler
lets this process use, `os.sched_getaffinity`) and more than one task, the calling process runs tasks 0, jobs,
2 jobs, ... itself and each of jobs - 1 forked workers the tasks k, k + jobs, ...; it runs them all itself when
`jobs` is 1, when there is one task, or where the fork start method does not exist (only Linux and other Unixes
fork): then nothing forks. A worker is forked, not spawned: it inherits the caller's memory copy-on-write (the
network, its design points), so neither `function` nor the tasks are pickled; only each result, sent back over a
pipe, must be. A worker ends after its tasks (`os._exit`: no exit handlers, no stdio flushed twice).

Failures: a task's exception reaches the caller as the sequential map would raise it, that of the first task in
order that failed (a worker's pickled back with its attributes: a DfccError keeps its message and location); a
worker that ends without answering (killed, crashed) raises ChildProcessError naming its exit code. Every worker
is joined before fork_map returns or raises (ended at once if the caller is interrupted), so none outlives it.
Fork safety: numpy's OpenBLAS stops its thread pool before a fork (pthread_atfork) and a worker starts its own, so
a worker's numpy does not deadlock; the caller's other threads (a progress bar's refresh) do not exist in a worker,
which must not use what they hold (explore's progress bar advances only in the process that made it).
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")
JOBS_AUTO = "auto"


def jobs_of(setting: int | str) -> int:
    """The processes a `jobs` setting asks for: "auto", the cores this process may run on, else the number (>= 1)."""
    if setting == JOBS_AUTO:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ValueError(f"jobs must be auto or a positive number, got {setting!r}")
    return setting


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def processes(jobs: int, tasks: int) -> int:
    """The processes `fork_map` runs `tasks` tasks in at `jobs`: this one alone (1) where it forks none."""
    return min(jobs, tasks) if jobs > 1 and tasks > 1 and can_fork() else 1


def fork_map(function: Callable[[Task], Result], tasks: Sequence[Task], jobs: int) -> list[Result]:
    """`[function(task) for task in tasks]`, its tasks shared between this process and jobs - 1 forked workers."""
    jobs = processes(jobs, len(tasks))
    if jobs == 1:
        return [function(task) for task in tasks]
    context = multiprocessing.get_context("fork")
    workers = []
    try:
        for k in range(1, jobs):
            receive, send = context.Pipe(duplex=False)
            worker = context.Process(target=_work, args=(function, tasks, k, jobs, send))
            worker.start()
            send.close()  # the worker holds the only writing end: its end reads as EOF here
            workers.append((worker, receive))
        outcomes = {0: _run(function, tasks, 0, jobs)}
        for k, (worker, receive) in enumerate(workers, start=1):
            try:
                outcomes[k] = receive.recv()
            except EOFError:
                worker.join()
                raise ChildProcessError(f"fork_map: worker {k} of {jobs} (pid {worker.pid}) ended without an "
                                        f"answer, exit code {worker.exitcode}") from None
    except BaseException:
        for worker, _ in workers:
            worker.kill()
        raise
    finally:
        for worker, receive in workers:
            worker.join()
            receive.close()
    results: list[Result] = [None] * len(tasks)  # type: ignore[list-item]
    failures = []
    for k, (done, failure) in outcomes.items():
        for index, result in zip(range(k, len(tasks), jobs), done):
            results[index] = result
        if failure is not None:
            failures.append(failure)
    if failures:
        raise min(failures, key=lambda failure: failure[0])[1]
    return results


def _run(function: Callable[[Task], Result], tasks: Sequence[Task], k: int, jobs: int
         ) -> tuple[list[Result], tuple[int, BaseException] | None]:
    """Tasks k, k + jobs, ... in order until one raises: their results, and (that task's index, its exception)."""
    done = []
    for index in range(k, len(tasks), jobs):
        try:
            done.append(function(tasks[index]))
        except Exception as error:
            return done, (index, error)
    return done, None


def _work(function: Callable[[Task], Result], tasks: Sequence[Task], k: int, jobs: int, send) -> None:
    """A worker's life: its tasks, their outcome sent to the caller (as a ChildProcessError with the traceback's
    text if it does not pickle), then its end."""
    try:
        outcome = _run(function, tasks, k, jobs)
        try:
            send.send(outcome)
        except Exception:
            failure = outcome[1]
            text = "".join(traceback.format_exception(failure[1])) if failure else traceback.format_exc()
            send.send(([], (k, ChildProcessError(text))))
    finally:
        os._exit(0)
