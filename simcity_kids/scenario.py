"""Intervention scenarios: a TOML file of levers and parameter overrides, checked by a typed schema.

Not to be confused with Mesa's own ``mesa.experimental.scenarios.Scenario`` (model parameters plus a
random generator): a simcity-kids scenario is a policy a cabinet might adopt, a small diff against the
baseline. Every section is optional; what a file leaves out keeps its sourced default.

    name = "Universal summer programming"
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

from pydantic import Field

from .access import AccessParams
from .early_childhood import EarlyChildhoodParams
from .errors import read_toml, validate
from .institutions import CabinetParams
from .leaving import LeavingParams
from .learning import LearningParams
from .needs import NeedsParams
from .outcomes import OutcomesParams
from .params import Params
from .population import PopulationParams
from .programmes.summer import SummerConfig

SCENARIO_FOLDER = Path(__file__).resolve().parent.parent / "scenarios"


class ProgrammesConfig(Params):
    summer: SummerConfig = SummerConfig()


class ScenarioConfig(Params):
    """A scenario: its name, description, and every module's parameters."""

    name: str = "baseline"
    description: str = ""
    population: PopulationParams = PopulationParams()
    early_childhood: EarlyChildhoodParams = EarlyChildhoodParams()
    needs: NeedsParams = NeedsParams()
    access: AccessParams = AccessParams()
    learning: LearningParams = LearningParams()
    leaving_school: LeavingParams = LeavingParams()
    cabinet: CabinetParams = CabinetParams()
    outcomes: OutcomesParams = OutcomesParams()
    programmes: ProgrammesConfig = Field(default_factory=ProgrammesConfig)

    def config_hash(self) -> str:
        """SHA-256 of the resolved configuration (every value, defaults included)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def with_overrides(self, overrides: dict[str, Any], source: str = "overrides") -> ScenarioConfig:
        """A copy with dotted-path overrides applied, e.g. ``{"programmes.summer.coverage": 0.8}``."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            node = data
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return validate(ScenarioConfig, data, source)


def load_scenario(scenario: str | Path | ScenarioConfig | None = None) -> tuple[ScenarioConfig, str]:
    """A scenario and where it came from: a config object, a TOML path, a name in ``scenarios/``, or baseline."""
    if scenario is None:
        return ScenarioConfig(), "baseline"
    if isinstance(scenario, ScenarioConfig):
        return scenario, scenario.name
    path = Path(scenario)
    if not path.suffix and not path.exists() and (SCENARIO_FOLDER / f"{scenario}.toml").exists():
        path = SCENARIO_FOLDER / f"{scenario}.toml"
    data = read_toml(path, "scenario")
    data.setdefault("name", path.stem)
    return validate(ScenarioConfig, data, path), str(path)
