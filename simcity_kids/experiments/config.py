"""Experiment files: which scenarios, on which city, over how many seeds, and over which design of parameters.

An experiment is a TOML file (``experiments/*.toml``), checked by a typed schema like a scenario::

    name = "summer_vs_preschool"
    city = "salem"
    scenarios = ["baseline", "same_budget_summer", "same_budget_preschool"]   # the first is the reference
    seeds = 10
    years = 10
    outcomes = ["reading_mean_gap/Q5-Q1", "reading_mean_gap/Q5-Q1/8"]
    [overrides]                      # dotted paths, applied to every scenario
    "learning.summer_loss" = "strong"
    [design]                         # optional: the points each scenario is run at
    method = "grid"                  # grid, latin, sobol or morris
    [design.parameters]
    "programmes.success_plans.budget_usd" = [500_000, 1_000_000, 2_000_000]

Replicate i of every scenario and design point runs on seed ``seed + i``, so differences are paired.

A design's ``role`` says what its points are: options to choose among ("levers", each point its own result), or
draws of what the city does not know ("uncertainty": a Latin hypercube over the parameters' plausible ranges,
pooled into one projection whose spread is split into seed noise and not knowing the parameters).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..core.params import Params
from ..core.validation import MAX_YEARS, InvalidAt, read_toml, validate
from ..outcomes import GAPS, GRADE_ALL, GRADES, SUMMARY_RATES

# Every main gap for all grades together, the citywide rates and the year's total cost.
DEFAULT_OUTCOMES = (*(f"{subject}_mean_gap/{high}-{low}" for subject in ("reading", "math") for _, high, low in GAPS),
                    *SUMMARY_RATES, "cost_usd/total")
MAX_SEEDS = 1000
MAX_SAMPLES = 100_000
Role = Literal["levers", "uncertainty"]


def arrays_as_tuples(value: Any) -> Any:
    """A TOML table of arrays (dotted path -> values) with tuples, as the schemas declare them (strict types)."""
    if isinstance(value, dict):
        return {key: tuple(item) if isinstance(item, list) else item for key, item in value.items()}
    return value


def outcome_parts(name: str) -> tuple[str, str, str]:
    """An outcome's (metric, group, grade): ``metric[/group[/grade]]``, group "all" and grade "all" by default."""
    metric, group, grade = (name.split("/") + ["all", GRADE_ALL])[:3]
    return metric, group, grade


class DesignConfig(Params):
    """The points each designed scenario runs at: a full grid of values, or a sample of ranges."""

    method: Literal["grid", "latin", "sobol", "morris"]
    samples: int = Field(16, ge=1, le=MAX_SAMPLES, description="latin: points; sobol: base samples N (N*(D+2) "
                         "points); morris: trajectories (r*(D+1) points); grid: unused")
    levels: int = Field(4, ge=2, le=20, description="morris: grid levels of each parameter")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the sampler (not of the runs)")
    scenarios: tuple[str, ...] = Field((), description="the scenarios the design varies (default: all)")
    parameters: dict[str, tuple[float, ...]] | Literal["assumptions"] = Field(
        description="dotted path -> values (grid) or [low, high] (other methods); or \"assumptions\": every "
                    "numeric model parameter whose source is an assumption, within +/- spread of its default")
    spread: float = Field(0.5, gt=0, le=1, description="with parameters = \"assumptions\": relative half-width (of "
                          "the default, or of the room to its nearest bound if that is smaller)")
    role: Role = Field("levers", description="levers: each point is an option of its own; uncertainty: points are "
                       "draws of parameters the city does not know, pooled into one projection per scenario (its "
                       "spread split into seed noise and parameter uncertainty); needs a latin design of every "
                       "scenario")

    @field_validator("parameters", mode="before")
    @classmethod
    def _arrays(cls, value: Any) -> Any:
        return arrays_as_tuples(value)

    @model_validator(mode="after")
    def _shape(self) -> DesignConfig:
        if self.role == "uncertainty" and self.method != "latin":
            raise InvalidAt("method", f"must be \"latin\" for role = \"uncertainty\" (got {self.method!r}): its "
                            "points are draws from the parameters' ranges, pooled")
        if self.role == "uncertainty" and self.scenarios:
            raise InvalidAt("scenarios", "must be left out for role = \"uncertainty\": every scenario runs at the "
                            "same draws, so that differences stay paired within a draw")
        if isinstance(self.parameters, str):
            if self.method == "grid":
                raise InvalidAt("parameters", "\"assumptions\" needs a sampled design (latin, sobol or morris), "
                                "not a grid")
            return self
        if not self.parameters:
            raise InvalidAt("parameters", "must name at least one dotted parameter path")
        for path, values in self.parameters.items():
            if self.method == "grid" and not values:
                raise InvalidAt("parameters", f"'{path}' needs at least one value")
            if self.method != "grid" and (len(values) != 2 or not values[0] < values[1]):
                raise InvalidAt("parameters", f"'{path}' must be [low, high] with low < high for a {self.method} "
                                f"design (got {list(values)})")
        return self


class ExperimentConfig(Params):
    """An experiment file: see the module's docstring."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    city: str = Field("salem", min_length=1, description="built-in city name, city TOML path or CSV folder")
    scenarios: tuple[str, ...] = Field(min_length=1, max_length=200,
                                       description="scenario names or paths; the first is the reference")
    seeds: int = Field(5, ge=1, le=MAX_SEEDS, description="replicates of every scenario and point")
    seed: int = Field(0, ge=0, le=2**62, description="replicate i runs on seed + i")
    years: int = Field(10, ge=1, le=MAX_YEARS)
    scale: float = Field(1.0, ge=1, le=1000, description="simulate 1/scale of the children")
    outcomes: tuple[str, ...] = Field(DEFAULT_OUTCOMES, min_length=1, max_length=200,
                                      description="metric[/group[/grade]] of the outcomes table")
    threshold_sd: float = Field(0.05, gt=0, le=2, description="winners and losers: a child's score change "
                                "beyond this (SD) against the reference, same seed")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value, every scenario")
    design: DesignConfig | None = None

    @field_validator("scenarios", "outcomes", mode="before")
    @classmethod
    def _arrays(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        for index, name in enumerate(self.outcomes):
            metric, group, grade = outcome_parts(name)
            if name.count("/") > 2 or not metric or not group or grade not in (*GRADES, GRADE_ALL):
                raise InvalidAt("outcomes", f"item {index + 1} {name!r} must be metric[/group[/grade]] with grade "
                                f"one of {', '.join((*GRADES, GRADE_ALL))}")
        if self.design is not None:
            unknown = [s for s in self.design.scenarios if s not in self.scenarios]
            if unknown:
                raise InvalidAt("design", f"scenarios names {unknown[0]!r}, which is not among the experiment's "
                                f"scenarios ({', '.join(self.scenarios)})")
        return self


def read_experiment(path: str | Path) -> ExperimentConfig:
    """The experiment file at ``path``, validated; a bad file raises a ConfigError naming it and the key."""
    return validate(ExperimentConfig, read_toml(path, "experiment"), path)
