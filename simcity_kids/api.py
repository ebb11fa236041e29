"""The public API of one run: run a scenario on a city, read its gaps, save it (``experiments`` compares runs)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .city.profile import CityProfile
from .model import CityModel
from .outcomes import GAPS, GRADE_ALL, SUMMARY_RATES
from .programmes import REGISTRY
from .scenario import ScenarioConfig
from .core.validation import check_kind

GAP_LABELS = {"Q5-Q1": "income Q5-Q1", "not_disadvantaged-disadvantaged": "disadvantaged",
              "white-black": "white-Black", "white-latino": "white-Latino",
              "not_english_learner-english_learner": "English learner"}
REACH = ("eligible", "enrolled", "waitlisted", "turned_away", "unmet_needs")


@dataclass
class RunResult:
    """One run's outcomes (tidy table), monthly gap trace and provenance."""

    scenario: ScenarioConfig
    scenario_source: str
    city: CityProfile
    seed: int
    years: int
    scale: float
    outcomes: pd.DataFrame
    trace: pd.DataFrame

    def gaps(self, grade: str = GRADE_ALL) -> pd.DataFrame:
        """Main achievement gaps (SD) by year: one column per subject and gap, pupils of ``grade``."""
        rows = self.outcomes[(self.outcomes.grade == grade)
                             & self.outcomes.metric.isin(["reading_mean_gap", "math_mean_gap"])]
        table = rows.assign(
            column=rows.metric.astype(str).str.removesuffix("_mean_gap") + ": "
            + rows.group.astype(str).map(GAP_LABELS)).pivot_table(index="year", columns="column", values="value",
                                                                   observed=True)
        order = [f"{s}: {GAP_LABELS[f'{h}-{lo}']}" for s in ("reading", "math") for _, h, lo in GAPS]
        return table[[c for c in order if c in table.columns]]

    def summary(self) -> pd.DataFrame:
        """A compact yearly summary: income gaps, citywide rates and total cost."""
        frame = self.outcomes
        every = frame[(frame.group_kind == "all") & (frame.grade == GRADE_ALL)]
        rates = every[every.metric.isin(SUMMARY_RATES)].pivot_table(index="year", columns="metric", values="value",
                                                                     observed=True)
        gaps = self.gaps()[["reading: income Q5-Q1", "math: income Q5-Q1"]]
        cost = frame[(frame.metric == "cost_usd") & (frame.group == "total")].set_index("year")["value"]
        summary = gaps.join(rates[[c for c in SUMMARY_RATES if c in rates.columns]]).join(cost.rename("cost_usd"))
        return summary

    def programmes(self, group_kind: str = "all") -> pd.DataFrame:
        """Per-programme results by year and group: eligible, enrolled, waitlisted, turned away and unmet needs
        (children, whole city), cost and cost per child served (USD). ``group_kind`` picks the breakdown
        ("all", "income_quintile", "disadvantaged", "race", "english_learner", "neighborhood")."""
        frame = self.outcomes[self.outcomes.grade == GRADE_ALL]
        measures = {f"{name}_{measure}": (name, measure) for name in REGISTRY for measure in REACH}
        rows = frame[(frame.group_kind == group_kind) & frame.metric.isin(list(measures))]
        named = rows.metric.astype(str).map(measures)
        reach = rows.assign(programme=named.str[0], measure=named.str[1]).pivot_table(
            index=["programme", "year", "group"], columns="measure", values="value", observed=True)[list(REACH)]
        costs = frame[(frame.group_kind == "programme") & frame.metric.isin(["cost_usd", "cost_per_child_served_usd"])]
        costs = costs.pivot_table(index=["group", "year"], columns="metric", values="value", observed=True)
        costs.index = costs.index.set_names(["programme", "year"])
        table = reach.reset_index().merge(costs.reset_index(), on=["programme", "year"], how="left")
        return table.set_index(["programme", "year", "group"]).sort_index()

    def manifest(self) -> dict:
        from . import __version__

        return {"scenario": self.scenario.name, "scenario_source": self.scenario_source,
                "city": self.city.name, "seed": self.seed, "years": self.years, "scale": self.scale,
                "package_version": __version__, "config_hash": self.scenario.config_hash(),
                "city_hash": _hash_model(self.city),
                "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    def save(self, folder: str | Path) -> Path:
        """Write outcomes.parquet, outcomes.csv, trace.csv and manifest.json into ``folder``, whole or not at all.

        ``folder`` must be new, empty or an earlier result folder (replaced whole; see ``output.py``)."""
        from .core.output import check_output_folder, write_folder_atomically

        def write(tmp: Path) -> None:
            self.outcomes.to_parquet(tmp / "outcomes.parquet", index=False)
            self.outcomes.to_csv(tmp / "outcomes.csv", index=False)
            self.trace.to_csv(tmp / "trace.csv", index=False)
            (tmp / "manifest.json").write_text(json.dumps(self.manifest(), indent=2) + "\n")  # last: marks it whole

        write_folder_atomically(check_output_folder(folder, label="folder"), write)
        return Path(folder)


def run(scenario: ScenarioConfig | str | Path | None = None, city: CityProfile | str | Path = "salem",
        years: int = 10, seed: int = 0, scale: float = 1.0, progress: bool = False) -> RunResult:
    """Run ``scenario`` (a config, a TOML path, a name in scenarios/, or None for the baseline) on ``city``.

    ``scale`` > 1 simulates 1/scale of the children, each standing for ``scale``; counts and costs are
    reported for the whole city."""
    check_kind("progress", progress, (bool,), "True or False")
    model = CityModel(scenario, city, seed=seed, years=years, scale=scale).run(progress=progress)
    return RunResult(model.config, model.config_source, model.full_city, seed, years, scale,
                     model.outcomes.table(), model.outcomes.trace())


def _hash_model(model: CityProfile) -> str:
    import hashlib

    return hashlib.sha256(model.model_dump_json().encode()).hexdigest()
