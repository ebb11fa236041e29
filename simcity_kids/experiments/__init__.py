"""Experiments: many scenarios over many seeds (and design points), paired, stored run by run, and summarised.

    config.py      the experiment file's schema (TOML in experiments/)
    design.py      grids, Latin hypercubes, Sobol and Morris designs; sensitivity indices (SALib)
    plan.py        an experiment resolved into runs, each with its scenario configuration and seed
    store.py       the results folder: a parquet file per run, written atomically, and the manifest
    runner.py      serial, process-pool and Dask execution into the store; resumable
    comparison.py  means, paired differences, costs, winners and losers, sensitivity, frontier (95% intervals)
    report.py      a self-contained HTML report of a results folder
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..city.profile import CityProfile
from ..core.validation import ConfigError, check_kind
from ..scenario import ScenarioConfig
from .comparison import Comparison
from .config import DEFAULT_OUTCOMES
from .plan import build_plan, load_plan
from .runner import run_plan

__all__ = ["Comparison", "compare", "run_experiment", "run_one", "DEFAULT_OUTCOMES"]


def compare(scenarios: Sequence[ScenarioConfig | str | Path], city: CityProfile | str | Path = "salem", *,
            seeds: int = 5, years: int = 10, seed: int = 0, scale: float = 1.0,
            outcomes: Sequence[str] = DEFAULT_OUTCOMES, threshold_sd: float = 0.05, workers: int | None = None,
            dask: str | None = None, out: str | Path | None = None, resume: bool = False,
            progress: bool = False, parameter_draws: int | None = None, spread: float = 0.5) -> Comparison:
    """Run every scenario on ``seeds`` replicates (replicate i on seed ``seed + i`` for all of them) and compare
    them with the first: paired differences with 95% intervals, costs, winners and losers.

    ``parameter_draws`` (at least 2) also runs every scenario at that many draws (a Latin hypercube) of the model's
    assumed and fitted parameters within +/- ``spread`` of their defaults (``design.assumption_ranges``), pooled
    into one projection per scenario whose spread is split into seed noise and not knowing the parameters
    (``Comparison.uncertainty``).

    Results go to ``out`` (a new folder, or an earlier one of the same comparison with ``resume``), or to a
    temporary folder kept while the returned Comparison lives. ``workers`` processes (default: every core; 1 =
    serial), or a Dask scheduler's address (``dask``; "local" starts a local cluster)."""
    design = None
    if parameter_draws is not None:
        check_kind("parameter_draws", parameter_draws, (int,), "a whole number >= 2")
        if parameter_draws < 2:
            raise ConfigError("parameter_draws", "", f"must be a whole number >= 2, as one draw shows no parameter "
                              f"spread (got {parameter_draws})", argument=True)
        design = {"method": "latin", "samples": parameter_draws, "parameters": "assumptions", "spread": spread,
                  "role": "uncertainty", "seed": seed % 2**32}  # the sampler's seeds are 32-bit
    plan = build_plan(scenarios, city, seeds=seeds, seed=seed, years=years, scale=scale, outcomes=outcomes,
                      threshold_sd=threshold_sd, design=design)
    temporary = tempfile.TemporaryDirectory(prefix="simcity-compare-") if out is None else None
    folder = Path(temporary.name) / "comparison" if temporary else Path(out)
    run_plan(plan, folder, resume=resume, workers=workers, dask=dask, progress=progress)
    comparison = Comparison(folder)
    comparison.temporary = temporary  # removed with the Comparison
    return comparison


def run_experiment(path: str | Path, out: str | Path, *, resume: bool = False, workers: int | None = None,
                   dask: str | None = None, progress: bool = False, seeds: int | None = None,
                   years: int | None = None, samples: int | None = None) -> Comparison:
    """Run an experiment file (or rerun an earlier experiment's manifest.json) into ``out``.

    ``seeds``, ``years`` and ``samples`` replace the file's values (a quick try of a big experiment)."""
    plan = load_plan(path, seeds=seeds, years=years, samples=samples)
    run_plan(plan, out, resume=resume, workers=workers, dask=dask, progress=progress)
    return Comparison(out)


def run_one(scenario: ScenarioConfig | str | Path | None = None, city: CityProfile | str | Path = "salem",
            years: int = 10, seed: int = 0, scale: float = 1.0, outcomes: Sequence[str] = DEFAULT_OUTCOMES,
            **parameters: Any) -> dict[str, float]:
    """One run as a plain function: dotted-path parameters in (``programmes__summer__coverage=0.8`` or, through
    ``**{"programmes.summer.coverage": 0.8}``), the final year's outcomes out (name -> value), so that EMA
    Workbench, SALib or an optimizer wraps the model in a few lines."""
    from ..model import CityModel
    from ..scenario import load_scenario
    from .comparison import extract
    from .design import typed_overrides

    config, _ = load_scenario(scenario)
    overrides = {key.replace("__", "."): value for key, value in parameters.items()}
    if overrides:
        config = config.with_overrides(typed_overrides(config, overrides), source="run_one")
    model = CityModel(config, city, seed=seed, years=years, scale=scale).run()
    values = extract(model.outcomes.table(), tuple(outcomes))
    final = values[values.year == values.year.max()]
    return {str(name): float(value) for name, value in zip(final.outcome, final.value)}
