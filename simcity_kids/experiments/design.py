"""Designs over uncertain parameters and levers, and the sensitivity indices they allow.

A design is a list of points, each a dict of dotted parameter paths to values. A full grid enumerates every
combination; a Latin hypercube spreads ``samples`` points over the ranges; Sobol (Saltelli's scheme) and Morris
(elementary-effect trajectories) come from SALib, whose analysis turns the model's outputs at those points
into sensitivity indices (:func:`sensitivity_indices`). Any function of the points can be analysed the same way,
which is how a toy function with known indices checks this code path.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.params import ASSUMPTION, FITTED, Params
from ..scenario import ScenarioConfig
from .config import DesignConfig, Role


@dataclass(frozen=True)
class Design:
    """A resolved design: its method, the parameters' names and bounds (or grid values), its points, and whether
    they are options (levers) or draws of unknown parameters to pool (uncertainty, see DesignConfig.role)."""

    method: str
    names: tuple[str, ...]
    bounds: tuple[tuple[float, ...], ...]
    levels: int
    samples: np.ndarray  # (points, parameters)
    role: Role = "levers"

    @property
    def problem(self) -> dict[str, Any]:
        """SALib's description of the parameter space."""
        return {"num_vars": len(self.names), "names": list(self.names), "bounds": [list(b[:2]) for b in self.bounds]}

    def points(self) -> list[dict[str, float]]:
        return [dict(zip(self.names, row.tolist())) for row in self.samples]


def make_design(config: DesignConfig, base: ScenarioConfig) -> Design:
    """The design's points; integer parameters of ``base`` are rounded, so every point is a valid scenario."""
    parameters = assumption_ranges(base, config.spread) if config.parameters == "assumptions" else config.parameters
    names = tuple(parameters)
    bounds = tuple(tuple(float(v) for v in parameters[name]) for name in names)
    if config.method == "grid":
        samples = np.array(list(itertools.product(*bounds)), dtype=float)
    else:
        samples = _sample(config, {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in bounds]})
    integer = [isinstance(numeric_value_at(base, name), int) for name in names]
    samples[:, integer] = np.round(samples[:, integer])
    return Design(config.method, names, bounds, config.levels, samples, config.role)


def _sample(config: DesignConfig, problem: dict[str, Any]) -> np.ndarray:
    if config.method == "latin":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=problem["num_vars"], seed=config.seed).random(config.samples)
        low, high = np.array(problem["bounds"]).T
        return qmc.scale(unit, low, high)
    if config.method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, config.samples, calc_second_order=False, seed=config.seed)
    from SALib.sample import morris

    return morris.sample(problem, config.samples, num_levels=config.levels, seed=config.seed)


def sensitivity_indices(design: Design, outputs: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Sobol first-order and total indices, or Morris mu*, mu and sigma, of ``outputs`` (one per point), with
    their 95% confidence half-widths: one row per parameter and index. Empty for grid and Latin designs."""
    outputs = np.asarray(outputs, dtype=float)
    if design.method == "sobol":
        from SALib.analyze import sobol

        result = sobol.analyze(design.problem, outputs, calc_second_order=False, seed=seed)
        indices = {"S1": ("S1", "S1_conf"), "ST": ("ST", "ST_conf")}
    elif design.method == "morris":
        from SALib.analyze import morris

        result = morris.analyze(design.problem, design.samples, outputs, num_levels=design.levels, seed=seed)
        indices = {"mu_star": ("mu_star", "mu_star_conf"), "mu": ("mu", None), "sigma": ("sigma", None)}
    else:
        return pd.DataFrame(columns=["parameter", "index", "value", "conf"])
    rows = [{"parameter": name, "index": index, "value": float(result[value][i]),
             "conf": float(result[conf][i]) if conf else float("nan")}
            for index, (value, conf) in indices.items() for i, name in enumerate(design.names)]
    return pd.DataFrame(rows)


def assumption_ranges(base: ScenarioConfig, spread: float) -> dict[str, tuple[float, float]]:
    """Every numeric model parameter (programmes' levers aside) whose source is an assumption (or a fit to figures,
    ``FITTED``), with the range default +/- ``spread`` x the smaller of |default| and the room between the default
    and its nearest declared bound: relative, and symmetric, so that a share near 1 (attendance 0.96) is drawn
    near it rather than up to the bound and 30% below."""
    ranges = {}
    for path, value, field in _numeric_parameters(base):
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if not str(extra.get("source", "")).startswith((ASSUMPTION, FITTED)) or path.startswith("programmes."):
            continue
        low, high = declared_bounds(field)
        room = min(value - low, high - value)
        half = spread * min(abs(value), room) if value else spread * min(high - low, 1.0)
        lo, hi = max(low, value - half), min(high, value + half)
        if lo < hi:
            ranges[path] = (lo, hi)
    return ranges


def _numeric_parameters(model: Params, prefix: str = ""):
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, Params):
            yield from _numeric_parameters(value, f"{prefix}{name}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield f"{prefix}{name}", value, field


def declared_bounds(field: Any) -> tuple[float, float]:
    """A parameter's allowed range; a strict bound is moved to the nearest number inside it."""
    low, high = -np.inf, np.inf
    for item in field.metadata:
        if getattr(item, "ge", None) is not None:
            low = max(low, item.ge)
        if getattr(item, "gt", None) is not None:
            low = max(low, np.nextafter(item.gt, np.inf))
        if getattr(item, "le", None) is not None:
            high = min(high, item.le)
        if getattr(item, "lt", None) is not None:
            high = min(high, np.nextafter(item.lt, -np.inf))
    return float(low), float(high)


def numeric_value_at(config: Params, dotted: str) -> int | float | None:
    """The number at a dotted path of a configuration, or None if there is none."""
    node: Any = config
    for part in dotted.split("."):
        node = getattr(node, part, None)
    return node if isinstance(node, int | float) and not isinstance(node, bool) else None


def is_parameter(config: Params, dotted: str) -> bool:
    """Whether a dotted path names a parameter (not a section) of a configuration."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Params) or part not in type(node).model_fields:
            return False
        node = getattr(node, part)
    return not isinstance(node, Params)


def typed_overrides(base: Params, values: dict[str, float]) -> dict[str, Any]:
    """Dotted-path values as ``base`` declares them: a whole-number parameter gets a rounded int, so that a
    sampler's 3.0 (or an optimizer's 2.7) is a valid value and not a type error."""
    return {path: int(round(value)) if isinstance(numeric_value_at(base, path), int) else value
            for path, value in values.items()}
