"""Running an experiment's plan: serially, on a local process pool, or on a Dask cluster, into its store.

A run is a pure function of its task (scenario configuration, city, years, scale, seed): :func:`execute_run`
returns its tables as parquet bytes, and only this process writes files. So the results are bit-identical
whatever the executor, the number of workers or the machines, and a worker never needs the experiment's
folder. A run that raises is recorded with its error and the others go on.

Runs that share a burn-in (the same world and seed, ``city/history.py``) share one: on a pool or a cluster it is a
task of its own (:func:`execute_burn_in`) whose result goes to each of its runs; serially, the process keeps it.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..city.profile import CityProfile
from ..core.validation import ConfigError, check_kind
from ..scenario import ScenarioConfig
from .plan import Plan, RunSpec
from .store import ResultsStore, now, to_parquet_bytes

MANIFEST_EVERY_S = 2.0  # the manifest's run statuses are brought up to date at most this often while running
MODEL_MODULES = ["simcity_kids.experiments.runner", "simcity_kids.model"]  # imported once, before workers fork
LOCAL_CLUSTER_CONFIG = {
    # Workers fork from a server that has imported distributed and the model, rather than each importing them.
    "distributed.worker.multiprocessing-method": "forkserver",
    # A run is one long task of pure computation: the statistical profiler (a stack sample every 10 ms), the
    # event-loop health tick (every 20 ms) and the memory monitor (every 100 ms) would only interrupt it.
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
}


@dataclass(frozen=True)
class RunTask:
    """What a worker needs for one run."""

    spec: RunSpec
    scenario: ScenarioConfig
    city: CityProfile
    years: int
    scale: float


@dataclass(frozen=True)
class RunOutput:
    run_id: str
    outcomes: bytes
    children: bytes
    seconds: float


def execute_burn_in(task: RunTask) -> bytes:
    """The burned-in city a run starts from (``city/history.py``), for every run of the same world and seed."""
    from ..city.history import burn_in

    return burn_in(task.scenario, task.city, task.spec.seed, task.scale)


def execute_run(task: RunTask, history: bytes | None = None) -> RunOutput:
    """One run, start to finish (from ``history`` when given): its outcomes table and its pupils' end-of-run
    scores, as parquet bytes."""
    from ..model import CityModel

    started = time.perf_counter()
    model = CityModel(task.scenario, task.city, seed=task.spec.seed, years=task.years, scale=task.scale,
                      history=history).run()
    return RunOutput(task.spec.run_id, to_parquet_bytes(model.outcomes.table()),
                     to_parquet_bytes(model.outcomes.final_scores(model)), time.perf_counter() - started)


def run_plan(plan: Plan, folder: str | Path, *, resume: bool = False, workers: int | None = None,
             dask: str | None = None, progress: bool = False, executor: Executor | None = None,
             on_run: Callable[[int, int], None] | None = None) -> ResultsStore:
    """Run every unfinished run of ``plan`` into ``folder`` and return the store.

    ``workers``: processes of the local pool (default: every core; 1 runs serially in this process); ``dask``:
    a scheduler's address, or "local" for a local cluster of ``workers`` processes; ``executor``: a process pool
    that outlives this call (a server's, shared by its users), used instead of either. ``on_run(done, total)`` is
    called as each run ends, for a progress indicator other than the terminal's bar."""
    if workers is not None:
        check_kind("workers", workers, (int,), "a whole number >= 1")
        if workers < 1:
            raise ConfigError("workers", "", f"must be a whole number >= 1 (got {workers})", argument=True)
    if dask is not None:
        check_kind("dask", dask, (str,), "a scheduler address such as tcp://127.0.0.1:8786, or 'local'")
    store = ResultsStore(folder)
    manifest = store.open(plan, resume)
    todo = [spec for spec in plan.runs if not store.done(spec.run_id)]
    tasks = [RunTask(spec, plan.configuration(spec), plan.city, plan.years, plan.scale) for spec in todo]
    manifest["executor"] = "shared process pool" if executor is not None else _executor_name(workers, dask,
                                                                                               len(tasks))
    bar = _progress_bar(len(plan.runs), len(plan.runs) - len(todo), plan.name, progress)
    last_write = time.monotonic()
    done = len(plan.runs) - len(todo)
    try:
        for task, result in _execute(tasks, workers, dask, executor):
            entry = manifest["runs"][task.spec.run_id]
            if isinstance(result, RunOutput):
                store.write_run(result.run_id, result.outcomes, result.children)
                entry.update(status="done", error=None, seconds=round(result.seconds, 3), ended_utc=now())
            else:
                error = "".join(traceback.format_exception_only(type(result), result)).strip()
                store.write_failure(task.spec.run_id, error)
                entry.update(status="failed", error=error, ended_utc=now())
                bar.write(f"run {task.spec.run_id} failed: {error}", file=sys.stderr)
            bar.update(1)
            done += 1
            if on_run is not None:
                on_run(done, len(plan.runs))
            if time.monotonic() - last_write > MANIFEST_EVERY_S:
                store.write_manifest(manifest)
                last_write = time.monotonic()
    finally:
        bar.close()
        manifest["ended_utc"] = now()
        store.write_manifest(manifest)
    return store


def _executor_name(workers: int | None, dask: str | None, runs: int) -> str:
    if dask is not None:
        return f"dask {dask}"
    return "serial" if _pool_size(workers, runs) <= 1 else f"process pool of {_pool_size(workers, runs)}"


def _pool_size(workers: int | None, runs: int) -> int:
    return min(workers or os.cpu_count() or 1, max(runs, 1))


def _execute(tasks: list[RunTask], workers: int | None, dask: str | None,
             executor: Executor | None) -> Iterator[tuple[RunTask, Any]]:
    """Yield (task, RunOutput or the exception it raised) as runs finish."""
    if not tasks:
        return
    if executor is not None:
        yield from _on_executor(tasks, executor, 2 * (os.cpu_count() or 1))
    elif dask is not None:
        yield from _on_dask(tasks, workers, dask)
    elif _pool_size(workers, len(tasks)) == 1:
        for task in tasks:
            try:
                yield task, execute_run(task)
            except Exception as exc:  # recorded; the other runs go on
                yield task, exc
    else:
        yield from _on_pool(tasks, _pool_size(workers, len(tasks)))


def _on_pool(tasks: list[RunTask], workers: int) -> Iterator[tuple[RunTask, Any]]:
    """A local process pool. Workers come from a fork server that has imported the model once, so they start at
    once without forking this process's threads."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=model_process_context()) as pool:
        yield from _on_executor(tasks, pool, 2 * workers)


def model_process_context() -> multiprocessing.context.BaseContext:
    """Processes forked from a server that has imported the model once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(MODEL_MODULES)
    return context


def _by_history(tasks: list[RunTask]) -> dict[str | None, list[RunTask]]:
    """The tasks grouped by the burn-in they start from (``None``: no burn-in), in the plan's order."""
    from ..city.history import history_key

    groups: dict[str | None, list[RunTask]] = {}
    for task in tasks:
        key = (history_key(task.scenario, task.city, task.spec.seed, task.scale)
               if task.scenario.population.burn_in_years else None)
        groups.setdefault(key, []).append(task)
    return groups


def _on_executor(tasks: list[RunTask], pool: Executor, in_flight: int) -> Iterator[tuple[RunTask, Any]]:
    """Runs on a pool, at most ``in_flight`` jobs submitted at a time, so results are written as they come and an
    interrupted experiment loses little (and a shared pool serves several experiments in turn). Each burn-in is a
    job; its runs are submitted when it ends, before any other burn-in starts."""
    groups = _by_history(tasks)
    ready: deque[tuple[RunTask, bytes | None]] = deque((task, None) for task in groups.pop(None, []))
    histories = iter(list(groups))  # groups shrink as burn-ins end
    burning: dict[Future, str] = {}
    running: dict[Future, RunTask] = {}
    try:
        while True:
            while len(running) + len(burning) < in_flight:
                if ready:
                    task, history = ready.popleft()
                    running[pool.submit(execute_run, task, history)] = task
                elif (key := next(histories, None)) is not None:
                    burning[pool.submit(execute_burn_in, groups[key][0])] = key
                else:
                    break
            if not running and not burning:
                return
            finished, _ = wait([*running, *burning], return_when=FIRST_COMPLETED)
            for future in finished:
                error = future.exception()
                if future in burning:
                    group = groups.pop(burning.pop(future))
                    if error is not None:
                        yield from ((task, error) for task in group)
                    else:
                        ready.extend((task, future.result()) for task in group)
                else:
                    yield running.pop(future), error if error is not None else future.result()
    finally:
        for future in [*running, *burning]:
            future.cancel()


def _on_dask(tasks: list[RunTask], workers: int | None, address: str) -> Iterator[tuple[RunTask, Any]]:
    """A Dask cluster: a running scheduler's address, or "local" for a loopback cluster started and stopped here.
    A local cluster's workers fork from a fork server that starts importing Dask and the model at once, while
    this process imports Dask and starts the scheduler."""
    if address == "local":
        multiprocessing.get_context("forkserver").set_forkserver_preload(["distributed", *MODEL_MODULES])
        multiprocessing.forkserver.ensure_running()
    import dask.config
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address == "local":
        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            cluster = LocalCluster(n_workers=_pool_size(workers, len(tasks)), threads_per_worker=1,
                                   processes=True, host="127.0.0.1", dashboard_address=None)
        address = cluster.scheduler_address
    try:
        try:
            client = Client(address, timeout=30)
        except OSError as exc:
            raise ConfigError("dask", "", f"cannot reach a Dask scheduler at {address!r} ({exc}); allowed: the "
                              "address of a running scheduler, e.g. tcp://127.0.0.1:8786, or 'local'",
                              argument=True) from None
        with client:
            futures = {}
            for key, group in _by_history(tasks).items():
                history = None if key is None else client.submit(execute_burn_in, group[0], pure=False)
                futures.update({client.submit(execute_run, task, history, pure=False): task for task in group})
            for future in as_completed(futures):
                task = futures[future]
                try:
                    yield task, future.result()
                except Exception as exc:  # the run's own error, raised again here by Dask
                    yield task, exc
    finally:
        if cluster is not None:
            cluster.close()


def _progress_bar(total: int, done: int, name: str, show: bool):
    """A bar of runs done with the time left (tqdm), drawn on stderr when ``show``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc=name, unit="run", disable=not show, dynamic_ncols=True,
                smoothing=0.1)
