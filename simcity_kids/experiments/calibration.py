"""Calibration (``simcity-kids calibrate TARGETS.toml``): fit assumption parameters to published or local figures.

A targets file names the parameters to fit, each with the range it may take, and the figures to fit them to::

    name = "salem_district"
    city = "salem"                     # a built-in name, a city TOML file or a folder of city CSV files
    seeds = 4                          # common random numbers: every candidate runs on these seeds
    years = 3                          # years of each run, after the steady-state burn-in
    max_evaluations = 60
    [parameters]                       # dotted path -> [low, high]
    "needs.attendance_child_sd" = [0.01, 0.08]
    [[targets]]
    outcome = "chronic_absence_rate"   # metric[/group[/grade]] of the baseline's outcomes table, mean over years
    value = 0.16
    sd = 0.01                          # the miss that counts as one unit of misfit
    source = "district dashboard, 2024-25"
    [[targets]]
    figure = "graduation"              # or a figure of the validation report, by its key
    value = 0.87
    sd = 0.02

Method. A candidate's misfit is the sum over targets of ((model - target) / sd)^2, the model's value being the
mean over the seeds. Every candidate runs on the same seeds with the same named random streams (common random
numbers), so the misfit is a deterministic function of the parameters whose differences are not buried in
noise. The search works in the unit box of the parameters' ranges: the start (the file's ``start`` values, else
the defaults) and a Latin hypercube of ``start_points`` candidates first, then a bounded local search of scipy's
from the best of them (``method``: Powell's, or the Nelder-Mead simplex), until it converges or ``max_evaluations``
candidates have been run. A figure a run cannot measure (NaN) counts as a miss of
``MISSING_MISS`` sds.

Nothing is lost: each candidate is appended to ``evaluations.csv`` as it ends, and ``--resume`` replays the
search through the candidates already run (the search is deterministic), so an interrupted fit continues where
it stopped. The fit is written as ``fitted.toml``, a parameter file a scenario includes (``include = [...]``),
beside ``fit.csv``: each target, the model at the start and at the fit.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from ..city.profile import CityProfile, load_city
from ..core.params import Params
from ..core.validation import MAX_YEARS, ConfigError, InvalidAt, read_toml, validate
from ..scenario import ScenarioConfig
from .config import arrays_as_tuples, outcome_parts
from .design import declared_bounds, is_parameter, numeric_value_at, typed_overrides
from .validation import FIGURES, MIN_YEARS, measure

MISSING_MISS = 10.0  # sds: the miss counted for a figure a run cannot measure (no pupil in an absence band)
START_STEP = 0.15  # the Nelder-Mead simplex's first steps, as a share of each parameter's range (assumption)
EVALUATIONS, FIT_TABLE, FITTED = "evaluations.csv", "fit.csv", "fitted.toml"


class TargetConfig(Params):
    """One figure to fit: a validation figure's key or an outcome of the baseline, its value and its sd."""

    figure: str | None = Field(None, description="key of a figure of the validation report ('simcity-kids "
                               "validate' lists them)")
    outcome: str | None = Field(None, description="metric[/group[/grade]] of the baseline's outcomes table")
    value: float = Field(description="the target figure")
    sd: float = Field(gt=0, description="the miss (same unit) that counts as one unit of misfit")
    source: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _one_measure(self) -> TargetConfig:
        if (self.figure is None) == (self.outcome is None):
            raise InvalidAt("figure", "give exactly one of 'figure' (a validation figure's key) and 'outcome' "
                            "(metric[/group[/grade]])")
        if self.figure is not None and self.figure not in FIGURES:
            raise InvalidAt("figure", f"unknown figure {self.figure!r}; allowed: {', '.join(FIGURES)}")
        if self.outcome is not None and (self.outcome.count("/") > 2 or not all(outcome_parts(self.outcome))):
            raise InvalidAt("outcome", f"must be metric[/group[/grade]] (got {self.outcome!r})")
        return self

    @property
    def label(self) -> str:
        return self.figure or self.outcome or ""


class CalibrationConfig(Params):
    """A targets file: see the module's docstring."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    city: str = Field("salem", min_length=1, description="built-in city name, city TOML path or CSV folder")
    seeds: int = Field(3, ge=1, le=100, description="common-random-number seeds every candidate runs on")
    seed: int = Field(0, ge=0, le=2**62, description="the first seed; seed i is seed + i")
    years: int = Field(3, ge=MIN_YEARS, le=MAX_YEARS, description="years of each run after the burn-in")
    max_evaluations: int = Field(60, ge=1, le=10_000, description="candidates run in all, the start included")
    start_points: int = Field(0, ge=0, le=1000, description="Latin hypercube candidates before the simplex "
                              "search (0: twice the number of parameters)")
    sampler_seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the Latin hypercube (not of the runs)")
    method: Literal["nelder-mead", "powell"] = Field(
        "powell", description="the local search from the best start: Powell's line searches along each parameter "
        "and then along the directions that worked (good where targets answer to few parameters each), or the "
        "Nelder-Mead simplex")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value, every run")
    parameters: dict[str, tuple[float, float]] = Field(min_length=1, description="dotted path -> [low, high]")
    start: dict[str, float] = Field(default_factory=dict, description="dotted path -> the value the search starts "
                                    "from (default: the scenario's), so that a shipped fit reruns to the same numbers "
                                    "after the defaults have become the fit")
    targets: tuple[TargetConfig, ...] = Field(min_length=1, max_length=200)

    @field_validator("parameters", mode="before")
    @classmethod
    def _ranges(cls, value: Any) -> Any:
        return arrays_as_tuples(value)

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _ordered(self) -> CalibrationConfig:
        for path, (low, high) in self.parameters.items():
            if not low < high:
                raise InvalidAt("parameters", f"'{path}' must be [low, high] with low < high (got [{low}, {high}])")
        for path, value in self.start.items():
            if path not in self.parameters:
                raise InvalidAt("start", f"'{path}' is not among the parameters to fit ({', '.join(self.parameters)})")
            low, high = self.parameters[path]
            if not low <= value <= high:
                raise InvalidAt("start", f"'{path}' = {value:g} is outside its range [{low:g}, {high:g}]")
        labels = [target.label for target in self.targets]
        for index, label in enumerate(labels):
            if labels.index(label) != index:
                raise InvalidAt("targets", f"item {index + 1} fits {label!r} again; each figure once")
        return self


@dataclass
class Calibration:
    """A targets file resolved: its schema, city, base scenario and the parameters' ranges."""

    config: CalibrationConfig
    source: str
    city: CityProfile
    base: ScenarioConfig

    @property
    def names(self) -> list[str]:
        return list(self.config.parameters)

    @property
    def seeds(self) -> list[int]:
        return [self.config.seed + i for i in range(self.config.seeds)]

    def values_at(self, unit: np.ndarray) -> dict[str, float | int]:
        """The parameters' values at a point of the unit box (whole-number parameters rounded)."""
        low, high = np.array(list(self.config.parameters.values())).T
        return typed_overrides(self.base, dict(zip(self.names, (low + unit * (high - low)).tolist())))

    def unit_of(self, values: dict[str, float]) -> np.ndarray:
        low, high = np.array(list(self.config.parameters.values())).T
        return np.clip((np.array([values[name] for name in self.names]) - low) / (high - low), 0, 1)

    def start(self) -> dict[str, float]:
        """Where the search starts: the file's ``start`` values, else the scenario's defaults."""
        return {name: float(self.config.start.get(name, numeric_value_at(self.base, name)))  # type: ignore[arg-type]
                for name in self.names}

    def fingerprint(self) -> str:
        """SHA-256 of what a candidate's values depend on (not the search's budget, start or target values), so
        that a resumed fit reuses only its own candidates, also with a larger ``max_evaluations``."""
        config = self.config
        fitted_aside = self.base.with_overrides(self.values_at(np.zeros(len(self.names))))  # their defaults unused
        data = {"city": self.city.model_dump(mode="json"), "base": fitted_aside.config_hash(), "seeds": self.seeds,
                "years": config.years, "parameters": self.names, "targets": [t.label for t in config.targets]}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def load_calibration(path: str | Path, city: str | Path | None = None, seeds: int | None = None,
                     max_evaluations: int | None = None) -> Calibration:
    """A targets file, validated; ``city``, ``seeds`` and ``max_evaluations`` replace the file's values."""
    path = Path(path)
    data = read_toml(path, "calibration targets")
    changes = {"city": None if city is None else str(city), "seeds": seeds, "max_evaluations": max_evaluations}
    config = validate(CalibrationConfig, {**data, **{k: v for k, v in changes.items() if v is not None}}, path)
    city_text = config.city
    beside = path.parent / city_text
    try:
        profile = load_city(beside if city is None and (city_text.endswith(".toml") or "/" in city_text)
                            and beside.exists() else city_text)
    except ConfigError as exc:
        if exc.argument:  # an unknown built-in name: the file's key, unless --city gave it
            raise ConfigError("city" if city is not None else path, "" if city is not None else "city",
                              exc.problem, argument=city is not None) from None
        raise
    try:
        base = ScenarioConfig().with_overrides(config.overrides, source=f"{path}: overrides")
    except ConfigError as exc:
        raise ConfigError(path, f"overrides.{exc.key}" if exc.key else "overrides", exc.problem) from None
    for name, (low, high) in config.parameters.items():
        allowed = "see 'simcity-kids parameters' for every dotted path"
        if not is_parameter(base, name) or numeric_value_at(base, name) is None:
            raise ConfigError(path, "parameters", f"'{name}' is not a numeric scenario parameter; {allowed}")
        bounds = declared_bounds(_field_at(base, name))
        if low < bounds[0] or high > bounds[1]:
            raise ConfigError(path, "parameters", f"'{name}' = [{low:g}, {high:g}] leaves the parameter's "
                              f"allowed range [{bounds[0]:g}, {bounds[1]:g}]")
    return Calibration(config, str(path), profile, base)


def _field_at(config: Params, dotted: str) -> Any:
    *parents, leaf = dotted.split(".")
    node: Any = config
    for part in parents:
        node = getattr(node, part)
    return type(node).model_fields[leaf]


@dataclass
class Fit:
    """A finished calibration: the fitted values, the targets' table and every candidate run."""

    calibration: Calibration
    fitted: dict[str, float | int]
    table: pd.DataFrame  # per target: value, sd, source, model at the start and at the fit, misses
    evaluations: pd.DataFrame
    misfit_start: float
    misfit_fitted: float

    def parameters_toml(self) -> str:
        """The fitted values as a parameter file a scenario includes, with where they came from."""
        import tomli_w

        from .. import __version__

        sections: dict[str, Any] = {}
        for path, value in self.fitted.items():
            node = sections
            *parents, leaf = path.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        config = self.calibration.config
        header = [f"Fitted by simcity-kids {__version__} calibrate ({datetime.date.today().isoformat()}): "
                  f"{config.name}, {self.calibration.source}",
                  f"city {self.calibration.city.name}, seeds {config.seed} to {config.seed + config.seeds - 1}, "
                  f"{config.years} years, {len(self.evaluations)} candidates",
                  f"misfit (sum of squared misses in sds): {self.misfit_start:.3f} at the start, "
                  f"{self.misfit_fitted:.3f} fitted",
                  "Include it in a scenario: include = [\"PATH/TO/THIS/FILE\"]"]
        return "".join(f"# {line}\n" for line in header) + "\n" + tomli_w.dumps(sections)


class _BudgetSpent(Exception):
    """The search asked for a candidate beyond ``max_evaluations``."""


class _Search:
    """The misfit as a function of the unit box, each candidate run once and written down as it ends."""

    def __init__(self, calibration: Calibration, folder: Path, resume: bool, workers: int | None, bar):
        self.calibration, self.bar = calibration, bar
        self.targets = calibration.config.targets
        self.figures = [t.figure for t in self.targets if t.figure]
        self.outcomes = [t.outcome for t in self.targets if t.outcome]
        self.done: dict[tuple, dict[str, float]] = {}
        self.rows: list[dict[str, Any]] = []  # each candidate of this search once, in the order asked
        self._seen: set[tuple] = set()
        self.budget: int | None = calibration.config.max_evaluations  # candidates the search may run
        self._log = _open_log(folder / EVALUATIONS, calibration, resume, self.done)
        size = min(workers or os.cpu_count() or 1, calibration.config.seeds)
        self._pool = None
        if size > 1:
            from .runner import model_process_context

            self._pool = ProcessPoolExecutor(max_workers=size, mp_context=model_process_context())

    def close(self) -> None:
        self._log.close()
        if self._pool is not None:
            self._pool.shutdown()

    def values(self, parameters: dict[str, float | int]) -> dict[str, float]:
        """The targets' model values (means over the seeds) at ``parameters``: run, or read back."""
        key = tuple(float(parameters[name]) for name in self.calibration.names)
        if key not in self._seen and self.budget is not None and len(self.rows) >= self.budget:
            raise _BudgetSpent
        if key not in self.done:
            self.done[key] = self._run(parameters)
            self._write(key, self.done[key])
        result = self.done[key]
        if key not in self._seen:  # the search may ask for a candidate twice; it is one candidate
            self._seen.add(key)
            self.rows.append({**dict(zip(self.calibration.names, key)), **result, "misfit": self.misfit(result)})
            self.bar.update(1)
            self.bar.set_postfix(misfit=f"{min(row['misfit'] for row in self.rows):.3g}")
        return result

    def misfit(self, values: dict[str, float]) -> float:
        misses = [(values[t.label] - t.value) / t.sd for t in self.targets]
        return float(sum(MISSING_MISS**2 if np.isnan(miss) else miss**2 for miss in misses))

    def __call__(self, unit: np.ndarray) -> float:
        return self.misfit(self.values(self.calibration.values_at(np.clip(unit, 0, 1))))

    def _run(self, parameters: dict[str, float | int]) -> dict[str, float]:
        calibration = self.calibration
        overrides = {**calibration.config.overrides, **parameters}
        arguments = [(self.figures, self.outcomes, calibration.city, seed, calibration.config.years, overrides)
                     for seed in calibration.seeds]
        if self._pool is None:
            per_seed = [measure(*task) for task in arguments]
        else:
            per_seed = list(self._pool.map(measure, *zip(*arguments)))
        return {label: float(np.mean([values[label] for values in per_seed])) for label in per_seed[0]}

    def _write(self, key: tuple, values: dict[str, float]) -> None:
        row = [repr(v) for v in key] + [repr(values[t.label]) for t in self.targets]
        csv.writer(self._log).writerow(row)
        self._log.flush()
        os.fsync(self._log.fileno())


def _open_log(path: Path, calibration: Calibration, resume: bool, done: dict[tuple, dict[str, float]]):
    """The evaluations file, appended to: new, or (with ``resume``) this calibration's, read into ``done``."""
    header = [*calibration.names, *(t.label for t in calibration.config.targets)]
    stamp = f"# simcity-kids calibration {calibration.fingerprint()}"
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        if not resume:
            raise ConfigError("out", "", f"{str(path.parent)!r} holds a calibration already ({len(lines) - 2} "
                              "candidates): pass --resume to continue it, or choose another folder", argument=True)
        if not lines or lines[0] != stamp:
            raise ConfigError("out", "", f"{str(path.parent)!r} holds another calibration (other targets, "
                              "parameters, city or code): choose another folder", argument=True)
        for row in csv.reader(lines[2:]):
            if len(row) == len(header):  # a line cut short by an interruption is run again
                numbers = [float(v) for v in row]
                key = tuple(numbers[:len(calibration.names)])
                done[key] = dict(zip(header[len(calibration.names):], numbers[len(calibration.names):]))
        log = path.open("a", encoding="utf-8", newline="")
        if lines and not path.read_text(encoding="utf-8").endswith("\n"):
            log.write("\n")
        return log
    path.parent.mkdir(parents=True, exist_ok=True)
    log = path.open("w", encoding="utf-8", newline="")
    log.write(stamp + "\n")
    csv.writer(log).writerow(header)
    return log


def calibrate(calibration: Calibration, folder: str | Path, *, resume: bool = False, workers: int | None = None,
              progress: bool = False) -> Fit:
    """Fit the parameters (see the module's docstring), write ``fitted.toml``, ``fit.csv`` and
    ``evaluations.csv`` in ``folder``, and return the fit."""
    from scipy.stats import qmc
    from tqdm.auto import tqdm

    from ..core.output import write_file_atomically

    config, folder = calibration.config, Path(folder)
    budget = config.max_evaluations
    bar = tqdm(total=budget + 1, desc=f"calibrating {config.name}", unit="candidate", disable=not progress)
    search = _Search(calibration, folder, resume, workers, bar)
    try:
        start_unit = calibration.unit_of(calibration.start())
        at_start = search.values(calibration.values_at(start_unit))
        starts = config.start_points or 2 * len(calibration.names)
        sample = qmc.LatinHypercube(d=len(calibration.names), seed=config.sampler_seed).random(starts)
        candidates = [start_unit, *sample[:max(budget - 1, 0)]]
        misfits = [search.misfit(at_start)] + [search(point) for point in candidates[1:]]
        best = candidates[int(np.argmin(misfits))]
        if len(candidates) < budget:
            try:
                _local_search(search, best, config.method, budget)
            except _BudgetSpent:
                pass
        runs = pd.DataFrame(search.rows)
        chosen = runs.iloc[int(runs.misfit.to_numpy().argmin())]
        fitted = typed_overrides(calibration.base, {name: _rounded(float(chosen[name])) for name in calibration.names})
        search.budget = None
        at_fit = search.values(fitted)  # the values written, rounded: what a scenario including them gets
    finally:
        bar.close()
        search.close()
    table = pd.DataFrame([{"target": t.label, "value": t.value, "sd": t.sd, "source": t.source,
                           "model_start": at_start[t.label], "model_fitted": at_fit[t.label],
                           "miss_start_sd": (at_start[t.label] - t.value) / t.sd,
                           "miss_fitted_sd": (at_fit[t.label] - t.value) / t.sd} for t in config.targets])
    fit = Fit(calibration, fitted, table, runs, search.misfit(at_start), search.misfit(at_fit))
    write_file_atomically(folder / FITTED, fit.parameters_toml().encode())
    write_file_atomically(folder / FIT_TABLE, table.to_csv(index=False, float_format="%.5g").encode())
    return fit


def _local_search(objective: _Search, start: np.ndarray, method: str, budget: int) -> None:
    """scipy's bounded local search from ``start`` in the unit box; it ends converged or when ``objective`` has run
    its budget of candidates (``_BudgetSpent``)."""
    from scipy.optimize import minimize

    bounds = [(0.0, 1.0)] * len(start)
    if method == "powell":
        minimize(objective, start, method="Powell", bounds=bounds,
                 options={"maxfev": 10 * budget, "xtol": 1e-3, "ftol": 1e-4})
        return
    step = np.where(start + START_STEP <= 1, START_STEP, -START_STEP)
    simplex = np.vstack([start, start + np.diag(step)])
    minimize(objective, start, method="Nelder-Mead", bounds=bounds,
             options={"maxfev": 10 * budget, "initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-3})


def _rounded(value: float, digits: int = 4) -> float:
    """``value`` to ``digits`` significant digits: a file a person reads, and no false precision."""
    return float(f"{value:.{digits}g}")


def printed(fit: Fit) -> str:
    """The fit as text for a terminal: each parameter from its start to its fit, each target before and after."""
    start = fit.calibration.start()
    width = max(len(name) for name in fit.fitted)
    lines = [f"{'parameter':{width}} {'start':>10} {'fitted':>10}   range"]
    for name, value in fit.fitted.items():
        low, high = fit.calibration.config.parameters[name]
        lines.append(f"{name:{width}} {start[name]:>10.4g} {value:>10.4g}   {low:g} to {high:g}")
    width = max(len(label) for label in fit.table.target)
    lines += ["", f"{'target':{width}} {'value':>8} {'sd':>7} {'start':>8} {'fitted':>8} {'miss (sd)':>10}"]
    for row in fit.table.itertuples():
        lines.append(f"{row.target:{width}} {row.value:>8.3f} {row.sd:>7.3f} {row.model_start:>8.3f} "
                     f"{row.model_fitted:>8.3f} {row.miss_fitted_sd:>10.2f}")
    lines.append(f"\nmisfit (sum of squared misses in sds): {fit.misfit_start:.3f} at the start, "
                 f"{fit.misfit_fitted:.3f} fitted, {len(fit.evaluations)} candidates")
    return "\n".join(lines)
