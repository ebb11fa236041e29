"""Intervention scenarios: a TOML file of levers and parameter overrides, checked by a typed schema.

Not to be confused with Mesa's own ``mesa.experimental.scenarios.Scenario`` (model parameters plus a
random generator): a simcity-kids scenario is a policy a cabinet might adopt, a small diff against the
baseline. Every section is optional; what a file leaves out keeps its sourced default. ``include`` names
parameter files (such as a calibration's fit, ``simcity-kids calibrate``) whose values the scenario starts from,
paths relative to the scenario file; the scenario's own values win.

    name = "Universal summer programming"
    include = ["salem_fit.toml"]
    [programmes.summer]
    coverage = 0.6
    [learning]
    summer_loss = "strong"
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, create_model

from .rules.awareness import AccessParams
from .rules.early_childhood import EarlyChildhoodParams
from .rules.english import EnglishParams
from .rules.governance import CabinetParams
from .rules.leaving import LeavingParams
from .rules.learning import LearningParams
from .rules.needs import NeedsParams
from .outcomes import OutcomesParams
from .core.params import Params
from .city.population import PopulationParams
from .programmes import registered
from .core.validation import ConfigError, check_kind, read_toml, shown, validate



# One section per registered programme, ``[programmes.<name>]``, each with its own typed schema.
ProgrammesConfig = create_model(  # type: ignore[call-overload]
    "ProgrammesConfig", __base__=Params, __doc__="Every programme's levers and parameters.",
    **{cls.name: (cls.config_class, cls.config_class()) for cls in registered()})


class ScenarioConfig(Params):
    """A scenario: its name, description, and every module's parameters."""

    name: str = Field("baseline", min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    population: PopulationParams = PopulationParams()
    english: EnglishParams = EnglishParams()
    early_childhood: EarlyChildhoodParams = EarlyChildhoodParams()
    needs: NeedsParams = NeedsParams()
    access: AccessParams = AccessParams()
    learning: LearningParams = LearningParams()
    leaving_school: LeavingParams = LeavingParams()
    cabinet: CabinetParams = CabinetParams()
    outcomes: OutcomesParams = OutcomesParams()
    programmes: ProgrammesConfig = Field(default_factory=ProgrammesConfig)
    _source: str = PrivateAttr("")

    @property
    def source(self) -> str:
        """The file (or overrides) the scenario came from, for messages about it found at the run."""
        return self._source or self.name

    def config_hash(self) -> str:
        """SHA-256 of the resolved configuration (every value, defaults included)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_toml(self) -> str:
        """The scenario as a TOML file: its name, description and every value that differs from the default, so
        that :func:`load_scenario` reads it back to the same configuration hash."""
        import tomli_w

        changed = _changes(self.model_dump(mode="json"), ScenarioConfig().model_dump(mode="json"))
        return tomli_w.dumps({"name": self.name, **({"description": self.description} if self.description else {}),
                              **changed})

    def with_overrides(self, overrides: dict[str, Any], source: str = "overrides") -> ScenarioConfig:
        """A copy with dotted-path overrides applied, e.g. ``{"programmes.summer.coverage": 0.8}``."""
        check_kind("overrides", overrides, (dict,), "a dict of dotted keys and values")
        data = self.model_dump()
        for dotted, value in overrides.items():
            check_kind("overrides", dotted, (str,), "a dict whose keys are dotted paths such as "
                       "'programmes.summer.coverage'")
            node: Any = data
            *parents, leaf = dotted.split(".")
            for depth, part in enumerate(parents):
                if not isinstance(node.get(part), dict):
                    raise ConfigError(source, ".".join(parents[:depth + 1]), "unknown section" if part not in node
                                      else f"is a value, not a section, so '{dotted}' does not exist")
                node = node[part]
            node[leaf] = value
        return _checked(data, source)


def scenario_folder() -> Path:
    """The shipped scenarios: ``scenarios/`` beside the package in a checkout, ``simcity_kids/scenarios`` inside an
    installed wheel (``pyproject.toml`` maps one onto the other)."""
    package = Path(__file__).resolve().parent
    installed = package / "scenarios"
    return installed if installed.is_dir() else package.parent / "scenarios"


def builtin_scenarios() -> dict[str, Path]:
    """Every shipped scenario by name."""
    return {path.stem: path for path in sorted(scenario_folder().glob("*.toml"))}


def scenario_question(path: Path) -> str:
    """The question a shipped scenario answers: the comment lines at the top of its file, up to the question mark."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
        if "?" in line:
            break
    return " ".join(lines)


def load_scenario(scenario: str | Path | ScenarioConfig | None = None) -> tuple[ScenarioConfig, str]:
    """A scenario and where it came from: a config object, a TOML path, a shipped name, or the baseline."""
    if scenario is None:
        return ScenarioConfig(), "baseline"
    if isinstance(scenario, ScenarioConfig):
        return scenario, scenario.source
    shipped = builtin_scenarios()
    allowed = f"a ScenarioConfig, the path of a scenario TOML file, or a shipped name ({', '.join(shipped)})"
    check_kind("scenario", scenario, (str, Path), allowed)
    path = Path(scenario)
    if not path.suffix and not path.exists():
        if str(scenario) not in shipped:
            raise ConfigError("scenario", "", f"unknown scenario {str(scenario)!r}; allowed: {allowed}")
        path = shipped[str(scenario)]
    data = read_toml(path, "scenario")
    data.setdefault("name", path.stem)
    return _checked(_with_included(data, path), path), str(path)


def read_parameters(path: str | Path) -> dict[str, Any]:
    """A parameter file's values (sections as in a scenario, no name), checked against the scenario schema so
    that a bad key is named in this file."""
    data = read_toml(path, "parameter")
    if "include" in data:
        raise ConfigError(path, "include", "a parameter file cannot include others; list them all in the scenario")
    validate(ScenarioConfig, data, path)
    return data


def parameter_overrides(path: str | Path) -> dict[str, Any]:
    """A parameter file's values as dotted-path overrides (``{"needs.attendance_child_sd": 0.03}``), for runs that
    take overrides rather than a scenario file (``simcity-kids validate --include``)."""
    def flat(values: dict[str, Any], prefix: str) -> dict[str, Any]:
        return {key: value for name, item in values.items()
                for key, value in (flat(item, f"{prefix}{name}.") if isinstance(item, dict)
                                   else {f"{prefix}{name}": item}).items()}
    return flat(read_parameters(path), "")


def _with_included(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """A scenario file's values on top of the parameter files its ``include`` names, in order."""
    included = data.pop("include", [])
    if not isinstance(included, list) or not all(isinstance(item, str) and item for item in included):
        raise ConfigError(path, "include", "must be an array of parameter file paths, relative to the scenario "
                          f"file (got {shown(included)})")
    merged: dict[str, Any] = {}
    for item in included:
        merged = _merged(merged, read_parameters(path.parent / item))
    return _merged(merged, data)


def _merged(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top``'s values over ``base``'s, section by section."""
    merged = dict(base)
    for key, value in top.items():
        merged[key] = (_merged(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict)
                       else value)
    return merged


def _changes(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that differ from ``defaults``, section by section (a value left at its default
    is left out, as in a hand-written scenario file; TOML has no null, so a value cannot be reset to None)."""
    changed: dict[str, Any] = {}
    for key, value in values.items():
        default = defaults.get(key)
        if isinstance(value, dict) and isinstance(default, dict):
            inner = _changes(value, default)
            if inner:
                changed[key] = inner
        elif value != default and key not in ("name", "description"):
            if value is None:
                raise ValueError(f"'{key}' is None where its default is {default!r}: TOML cannot write it")
            changed[key] = value
    return changed


def _checked(data: dict[str, Any], source: str | Path) -> ScenarioConfig:
    """A validated scenario that remembers where it came from."""
    config = validate(ScenarioConfig, data, source)
    config._source = str(source)
    return config
