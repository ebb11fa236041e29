"""An experiment resolved into runs: every scenario's full configuration, the city, the design's points and one
run per (scenario, point, replicate), each with its seed.

The plan is what the manifest records and what a rerun reads back, so rerunning from a manifest repeats the
same runs with the same inputs even if the scenario files, the city file or the sampler have changed since.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..city.profile import CityProfile, load_city
from ..core.output import safe_name
from ..core.validation import ConfigError, check_arguments, validate
from ..scenario import ScenarioConfig, builtin_scenarios, load_scenario
from .config import DEFAULT_OUTCOMES, ExperimentConfig, read_experiment
from .design import Design, is_parameter, make_design, typed_overrides


@dataclass(frozen=True)
class RunSpec:
    """One run of the experiment: a scenario at a design point on one replicate's seed."""

    run_id: str
    scenario: str
    point: int
    replicate: int
    seed: int


@dataclass
class Plan:
    """Everything an experiment runs, resolved; see the module docstring."""

    name: str
    source: str
    scenarios: dict[str, ScenarioConfig]  # by name, in the experiment's order; the first is the reference
    city: CityProfile
    years: int
    scale: float
    seeds: tuple[int, ...]
    outcomes: tuple[str, ...]
    threshold_sd: float
    design: Design | None
    designed: tuple[str, ...]  # the scenarios the design varies

    @property
    def reference(self) -> str:
        return next(iter(self.scenarios))

    @property
    def pooled(self) -> bool:
        """Whether the design's points are draws of unknown parameters, pooled into one projection per scenario
        (role "uncertainty"), rather than options of their own."""
        return self.design is not None and self.design.role == "uncertainty"

    def points(self, scenario: str) -> list[dict[str, float]]:
        """The design points ``scenario`` runs at: one empty point if the design does not vary it."""
        return self.design.points() if self.design is not None and scenario in self.designed else [{}]

    @cached_property
    def runs(self) -> list[RunSpec]:
        runs = []
        for scenario in self.scenarios:
            slug = safe_name(scenario, "scenario")
            for point in range(len(self.points(scenario))):
                for replicate, seed in enumerate(self.seeds):
                    runs.append(RunSpec(f"{slug}-p{point:04d}-r{replicate:03d}", scenario, point, replicate, seed))
        return runs

    def configuration(self, spec: RunSpec) -> ScenarioConfig:
        """The scenario of one run: its base configuration with the design point's values set."""
        base = self.scenarios[spec.scenario]
        values = self.points(spec.scenario)[spec.point]
        if not values:
            return base
        return base.with_overrides(typed_overrides(base, values), source=f"{self.source}: design point {spec.point}")

    # --- the manifest's form --------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        design = None if self.design is None else {
            "method": self.design.method, "names": list(self.design.names),
            "bounds": [list(b) for b in self.design.bounds], "levels": self.design.levels,
            "samples": self.design.samples.tolist(), "scenarios": list(self.designed),
            # a lever design's plan reads as it did before roles existed: its hash, and so --resume, hold
            **({"role": self.design.role} if self.design.role != "levers" else {})}
        return {"name": self.name, "city": self.city.model_dump(mode="json"), "years": self.years,
                "scale": self.scale, "seeds": list(self.seeds), "outcomes": list(self.outcomes),
                "threshold_sd": self.threshold_sd, "design": design,
                "scenarios": {name: config.model_dump(mode="json") for name, config in self.scenarios.items()}}

    def config_hash(self) -> str:
        """SHA-256 of the resolved plan: equal hashes mean the same runs on the same inputs."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str) -> Plan:
        """The plan a manifest records (``manifest["plan"]``)."""
        try:
            scenarios = {name: validate(ScenarioConfig, config, source, f"plan.scenarios.{name}")
                         for name, config in data["scenarios"].items()}
            city = validate(CityProfile, data["city"], source, "plan.city")
            spec = data["design"]
            design = None if spec is None else Design(
                spec["method"], tuple(spec["names"]), tuple(tuple(b) for b in spec["bounds"]), spec["levels"],
                np.array(spec["samples"], dtype=float).reshape(-1, len(spec["names"])),
                spec.get("role", "levers"))  # manifests written before roles existed hold lever designs
            return cls(data["name"], source, scenarios, city, data["years"], data["scale"], tuple(data["seeds"]),
                       tuple(data["outcomes"]), data["threshold_sd"], design,
                       tuple(spec["scenarios"]) if spec else ())
        except ConfigError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(source, "plan", f"is not a simcity-kids experiment plan ({exc!r})") from None


def build_plan(scenarios: Sequence[ScenarioConfig | str | Path], city: CityProfile | str | Path = "salem", *,
               seeds: int = 5, seed: int = 0, years: int = 10, scale: float = 1.0,
               outcomes: Sequence[str] = DEFAULT_OUTCOMES, threshold_sd: float = 0.05, name: str = "comparison",
               overrides: dict[str, Any] | None = None, design=None, source: str = "compare") -> Plan:
    """A plan from Python objects (``simcity_kids.compare``), checked by the experiment file's schema."""
    check_arguments(years=years, seed=seed, scale=scale)
    resolved = [load_scenario(s)[0] for s in scenarios]
    config = validate(ExperimentConfig, {
        "name": name, "scenarios": [s.name for s in resolved], "seeds": seeds, "seed": seed, "years": years,
        "scale": float(scale), "outcomes": list(outcomes), "threshold_sd": threshold_sd,
        "overrides": overrides or {}, **({"design": design} if design else {})}, source)
    return _resolve(config, resolved, load_city(city), source)


def load_plan(path: str | Path, **changes: int | None) -> Plan:
    """The plan of an experiment file, or of an earlier experiment's ``manifest.json`` (to rerun it).

    ``changes`` (``seeds``, ``years``, ``samples``; None leaves a value as the file says) make a smaller or
    larger version of the same experiment, e.g. to try it before the full run."""
    path = Path(path)
    changes = {key: value for key, value in changes.items() if value is not None}
    if path.suffix == ".json":
        from .store import read_manifest

        if changes:
            raise ConfigError(path, "", f"a manifest is rerun as it was; {', '.join(changes)} cannot be changed")
        return Plan.from_json(read_manifest(path)["plan"], str(path))
    config = read_experiment(path)
    if changes:
        data = config.model_dump(exclude_unset=True)
        samples = changes.pop("samples", None)
        if samples is not None and config.design is not None:
            data["design"] = {**config.design.model_dump(exclude_unset=True), "samples": samples}
        config = validate(ExperimentConfig, {**data, **changes}, path)
    resolved = [load_scenario(_scenario_path(name, path, index))[0] for index, name in enumerate(config.scenarios)]
    city_text = config.city
    beside = path.parent / city_text
    try:
        city = load_city(beside if (city_text.endswith(".toml") or "/" in city_text) and beside.exists()
                         else city_text)
    except ConfigError as exc:
        if exc.argument:  # an unknown built-in name: the experiment file's key, not an argument
            raise ConfigError(path, "city", exc.problem) from None
        raise
    return _resolve(config, resolved, city, str(path))


def _scenario_path(name: str, experiment: Path, index: int) -> str | Path:
    """A scenario named by an experiment: a file beside it, a path, or a shipped name."""
    beside = experiment.parent / name
    if beside.is_file():
        return beside
    if Path(name).suffix == ".toml" or name in builtin_scenarios():
        return name
    raise ConfigError(experiment, "scenarios", f"item {index + 1} {name!r} is not a file beside the experiment nor "
                      f"a shipped scenario ({', '.join(builtin_scenarios())})")


def _resolve(config: ExperimentConfig, resolved: list[ScenarioConfig], city: CityProfile, source: str) -> Plan:
    names = [s.name for s in resolved]
    slugs = [safe_name(n, "scenario") for n in names]
    for index, slug in enumerate(slugs):
        if slugs.index(slug) != index:
            raise ConfigError(source, "scenarios", f"item {index + 1} has the name {names[index]!r}, as an earlier "
                              "scenario does (names must differ, as run files are named after them)")
    try:
        scenarios = {s.name: s.with_overrides(config.overrides, source=f"{source}: overrides") if config.overrides
                     else s for s in resolved}
    except ConfigError as exc:
        raise ConfigError(source, f"overrides.{exc.key}" if exc.key else "overrides", exc.problem) from None
    design, designed = None, ()
    if config.design is not None:
        designed = config.design.scenarios or tuple(scenarios)
        base = scenarios[designed[0]]
        design = make_design(config.design, base)
        for path in design.names:
            if not is_parameter(base, path):
                raise ConfigError(source, "design.parameters", f"'{path}' is not a scenario parameter "
                                  "(see 'simcity-kids parameters' for every dotted path)")
    plan = Plan(config.name, source, scenarios, city, config.years, config.scale,
                tuple(config.seed + i for i in range(config.seeds)), config.outcomes, config.threshold_sd,
                design, designed)
    if design is not None:  # every point must be a valid scenario before any run starts
        for spec in plan.runs:
            if spec.replicate == 0:
                try:
                    plan.configuration(spec)
                except ConfigError as exc:
                    raise ConfigError(source, "design.parameters", f"point {spec.point}: {exc.key}: "
                                      f"{exc.problem}") from None
    return plan

