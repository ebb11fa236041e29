"""The validation report (``simcity-kids validate``): published figures beside the model's, with intervals over seeds.

Each figure is a target range, its source and a measurement of the model. Input-side figures (entry gaps, the
summer contrast under both readings, the absence gradient, chronic absence, graduation and college, English
learners' reclassification) come from the baseline; programme figures are end-of-programme effects on
participants, measured as a paired difference: the same children, on the same seed, with the programme and
without it (the baseline), at the end of the programme's first year. A range is the source's own where it gives
one; a single figure gets a tolerance, said in the table (``tolerance``: an assumption about how close is close).
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..city.profile import CityProfile
from ..core.calendar import SCHOOL_AGES
from ..core.output import write_file_atomically
from ..programmes.base import ENROLLED
from ..scenario import ScenarioConfig, load_scenario
from .comparison import extract, interval

SCHOOL_DAYS_PER_MONTH = 18  # 180 school days over the 10 school months (after_school.days_offered's source)
GRADE_8_AGE = SCHOOL_AGES[0] + 8
SEPTEMBER, MAY, JUNE = 0, 8, 9  # months of a school year, counted from September
MIN_YEARS = 2  # a whole run follows English learners from a June to the next September
JUNE_DONE, AUGUST_DONE = 10, 12  # months stepped from the start to the end of June and of August of year 0


@dataclass(frozen=True)
class Figure:
    """A published figure: its short ``key`` (what a calibration target names), what it is, its target range and
    source; ``measure`` gives the model's value for one seed from the runs of that seed (``Runs``)."""

    key: str
    name: str
    target: str
    low: float
    high: float
    source: str
    measure: Callable[[Runs], float]


class Runs:
    """One seed's runs, each made on first use and kept: whole runs' outcomes tables, the baseline's observations
    made while it runs, and runs stepped to the end of a programme's first year for paired effects. ``overrides``
    (dotted paths, e.g. a calibration's candidate parameters) apply to every scenario run."""

    def __init__(self, city: str | CityProfile, seed: int, years: int, overrides: dict[str, Any] | None = None):
        self.city, self.seed, self.years, self.overrides = city, seed, years, overrides or {}
        self._tables: dict[str, pd.DataFrame] = {}
        self._observed: dict[str, float] = {}
        self._partial: dict[tuple[str, int], object] = {}  # runs stepped to the end of a programme's first year

    def scenario(self, name: str) -> ScenarioConfig:
        """A shipped scenario with the overrides set."""
        config = load_scenario(name)[0]
        return config.with_overrides(self.overrides, source=f"{name}, with overrides") if self.overrides else config

    def table(self, scenario: str) -> pd.DataFrame:
        """The outcomes table of ``scenario`` over the whole run."""
        if scenario not in self._tables:
            from ..model import CityModel

            model = CityModel(self.scenario(scenario), self.city, seed=self.seed, years=self.years)
            watch = _BaselineWatch() if scenario == "baseline" else None
            while model.running:
                model.step()
                if watch:
                    watch.after_month(model)
            if watch:
                self._observed = watch.results()
            self._tables[scenario] = model.outcomes.table()
        return self._tables[scenario]

    def observed(self, name: str) -> float:
        """A figure the baseline run measured as it went (``_BaselineWatch``)."""
        self.table("baseline")
        return self._observed[name]

    def mean(self, scenario: str, metric: str, group_kind: str = "all", group: str = "all") -> float:
        """A metric's mean over the run's years (all grades)."""
        table = self.table(scenario)
        rows = table[(table.metric == metric) & (table.group_kind == group_kind) & (table.group == group)
                     & (table.grade == "all")]
        if rows.empty:
            raise KeyError(f"no {metric} for {group_kind} {group} in the {scenario} run")
        return float(rows.value.mean())

    def outcome(self, name: str, scenario: str = "baseline") -> float:
        """An outcome ``metric[/group[/grade]]`` of the outcomes table (as an experiment names it): its mean over
        the run's years; NaN if the run never records it (e.g. a group the city does not have)."""
        values = extract(self.table(scenario), [name])
        return float(values[values.outcome == name].value.mean())

    def paired(self, scenario: str, months: int, effect: Callable) -> float:
        """``effect(with_programme, baseline)`` after ``months`` months of ``scenario`` and of the baseline."""
        from ..model import CityModel

        runs = []
        for name in (scenario, "baseline"):  # each run is made once: figures of one programme, and the baseline
            if (name, months) not in self._partial:
                model = CityModel(self.scenario(name), self.city, seed=self.seed, years=1 + months // 12)
                for _ in range(months):
                    model.step()
                self._partial[name, months] = model
            runs.append(self._partial[name, months])
        if not np.array_equal(runs[0].children.id, runs[1].children.id):
            raise RuntimeError("a programme changed who lives in the city: its runs cannot be paired")
        return float(effect(*runs))


class _BaselineWatch:
    """What the baseline's outcome table does not hold, measured month by month: grade 8 math by days missed in
    May (the absence gradient), the share of June's English learners reclassified in September, the share of
    pupils who are learners, and kindergartners' September scores with what García's comparison adjusts for."""

    def __init__(self) -> None:
        self.math_and_missed: list[tuple[np.ndarray, np.ndarray]] = []
        self.reclassified: list[float] = []
        self.learner_share: list[float] = []
        self.entrants: list[np.ndarray] = []  # rows: reading, math, learner, family income (z), parent BA
        self._learners_in_june: np.ndarray | None = None

    def after_month(self, model) -> None:
        children, month = model.children, (model.month - 1) % 12
        if month == MAY:
            self.math_and_missed.append(_grade_8_math_and_days_missed(model))
        elif month == JUNE:
            self._learners_in_june = children.id[children.english_learner]
        elif month == SEPTEMBER:
            self.entrants.append(_entrants(model))
            self.learner_share.append(float(children.english_learner[children.age >= SCHOOL_AGES[0]].mean()))
            if self._learners_in_june is not None:
                here = np.isin(self._learners_in_june, children.id)
                still = np.isin(self._learners_in_june[here], children.id[children.english_learner])
                self.reclassified.append(float(1 - still.mean()))

    def results(self) -> dict[str, float]:
        gaps = _adjusted_learner_gap(np.concatenate(self.entrants, axis=1))
        return {**{f"missed {band}": value for band, value in _gradient(self.math_and_missed).items()},
                "reclassified a year": float(np.mean(self.reclassified)),
                "learner share": float(np.mean(self.learner_share)),
                "learner entry gap reading": gaps[0], "learner entry gap math": gaps[1]}


def _entrants(model) -> np.ndarray:
    """Kindergartners' measured reading and math this September, whether each is an English learner, and their
    family's income (z) and parental degree."""
    children, families = model.children, model.families
    entering = np.flatnonzero(children.age == SCHOOL_AGES[0])
    reading, math = model.learning.observed(model, entering)
    family = children.family[entering]
    return np.vstack([reading, math, children.english_learner[entering], families.income_z[family],
                      families.parent_ba[family]]).astype(float)


def _adjusted_learner_gap(entrants: np.ndarray) -> tuple[float, float]:
    """Non-learners' lead over English learners at entry, reading and math, adjusted for family income and
    parental education as García (2015) adjusts for SES: the learner coefficient of a least-squares fit."""
    reading, math, learner, income, degree = entrants
    if learner.min() == learner.max():  # no learner entered school, or only learners: no comparison
        return float("nan"), float("nan")
    design = np.column_stack([np.ones_like(learner), learner, income, degree])
    coefficients = np.linalg.lstsq(design, np.column_stack([reading, math]), rcond=None)[0]
    return float(-coefficients[1, 0]), float(-coefficients[1, 1])


def _grade_8_math_and_days_missed(model) -> tuple[np.ndarray, np.ndarray]:
    """Grade 8 pupils' measured math and the school days they missed this month (May)."""
    children = model.children
    grade_8 = children.age == GRADE_8_AGE
    _, math = model.learning.observed(model)
    missed = np.rint((1 - children.attendance[grade_8]) * SCHOOL_DAYS_PER_MONTH)
    return math[grade_8], missed


DAY_BINS = {"1-2": (1, 2), "3-4": (3, 4), "5-10": (5, 10), "more than 10": (11, SCHOOL_DAYS_PER_MONTH)}


def _gradient(pupils: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Mean grade 8 math of pupils who missed each band of days last month, less that of pupils who missed none."""
    math = np.concatenate([m for m, _ in pupils])
    missed = np.concatenate([d for _, d in pupils])
    none = math[missed == 0].mean()
    return {band: float(math[(missed >= low) & (missed <= high)].mean() - none) if
            ((missed >= low) & (missed <= high)).any() else float("nan") for band, (low, high) in DAY_BINS.items()}


def _enrolled(model, programme: str) -> np.ndarray:
    return (getattr(model.children, f"reach_{programme}") & ENROLLED) > 0


def _participants(programme: str) -> Callable:
    """The children the programme enrolled this year who were not enrolled without it (the city's existing
    providers serve some children in the baseline too: for them the two runs do not differ)."""
    return lambda treated, baseline: _enrolled(treated, programme) & ~_enrolled(baseline, programme)


def _high_attenders(treated, baseline) -> np.ndarray:
    """Summer children who attended 20 days or more, and who had no summer place without the programme."""
    return (treated.children.summer_days >= 20) & ~_enrolled(baseline, "summer")


def _score_effect(subjects: tuple[str, ...], who: Callable) -> Callable:
    """The mean paired difference in measured scores (the mean of ``subjects``) over the children ``who`` picks."""
    def effect(treated, baseline) -> float:
        chosen = who(treated, baseline)
        scores = [dict(zip(("reading", "math"), model.learning.observed(model))) for model in (treated, baseline)]
        return float(np.mean([np.mean(scores[0][s][chosen] - scores[1][s][chosen]) for s in subjects]))
    return effect


def _college_effect(treated, baseline) -> float:
    """Advised seniors' college enrolment with advising less without, in June of year 0."""
    advised = treated.children.college_advised & (treated.children.age == SCHOOL_AGES[1])
    return float(treated.children.college[advised].mean() - baseline.children.college[advised].mean())


def _tolerance(value: float, share: float) -> tuple[float, float]:
    return value * (1 - share), value * (1 + share)


TOLERANCE = "tolerance (assumption)"
CITY_FIGURE = "the city's figure"


def figures() -> list[Figure]:
    """The figures the report checks, in its order."""
    gap = "entry_{}_mean_gap"
    return [
        Figure("entry_gap_income_reading", "kindergarten entry gap, income Q5-Q1, reading (SD)",
               "more than 1 SD; 90/10 gap 1.23", 1.0, 1.4,
               "Duncan & Magnuson 2013; Reardon 2011 (EVIDENCE.md, entry gaps)",
               lambda r: r.mean("baseline", gap.format("reading"), "income_quintile", "Q5-Q1")),
        Figure("entry_gap_income_math", "kindergarten entry gap, income Q5-Q1, math (SD)", "more than 1 SD",
               1.0, 1.4, "Duncan & Magnuson 2013 (EVIDENCE.md, entry gaps)",
               lambda r: r.mean("baseline", gap.format("math"), "income_quintile", "Q5-Q1")),
        Figure("entry_gap_white_black_reading", "kindergarten entry gap, white-Black, reading (SD)",
               f"0.32, {TOLERANCE} 0.12", 0.20, 0.44, "Quinn 2015, ECLS-K:2011 (EVIDENCE.md, entry gaps)",
               lambda r: r.mean("baseline", gap.format("reading"), "race", "white-black")),
        Figure("entry_gap_white_black_math", "kindergarten entry gap, white-Black, math (SD)",
               f"0.54, {TOLERANCE} 0.12", 0.42, 0.66, "Quinn 2015, ECLS-K:2011 (EVIDENCE.md, entry gaps)",
               lambda r: r.mean("baseline", gap.format("math"), "race", "white-black")),
        *[Figure(f"entry_gap_learner_{subject}", f"kindergarten entry gap, English learners, adjusted for family "
                 f"income and parental degree, {subject} (SD)", f"{value} (Hispanic learners against white "
                 f"children), {TOLERANCE} 0.1", value - 0.1, value + 0.1,
                 "García 2015, EPI 'Inequalities at the starting gate' (EVIDENCE.md, entry gaps)",
                 lambda r, subject=subject: r.observed(f"learner entry gap {subject}"))
          for subject, value in (("reading", 0.20), ("math", 0.26))],
        Figure("summer_contrast_strong", "summer change, not disadvantaged less disadvantaged, reading (SD), "
               "strong summer loss", "0.13 (-0.14 against -0.27)", 0.08, 0.18,
               "Cooper et al. 1996 (EVIDENCE.md, learning over the year)",
               lambda r: r.mean("strong_summer_loss", "summer_change_reading_gap", "disadvantaged",
                                "not_disadvantaged-disadvantaged")),
        Figure("summer_contrast_weak", "summer change, not disadvantaged less disadvantaged, reading (SD), weak "
               "summer loss (default)", "little net gap growth in summer", -0.03, 0.05,
               "von Hippel & Hamrock 2019 (EVIDENCE.md, learning over the year)",
               lambda r: r.mean("baseline", "summer_change_reading_gap", "disadvantaged",
                                "not_disadvantaged-disadvantaged")),
        *[Figure(f"absence_{key}", f"grade 8 math, missed {band} days last month less none (SD)",
                 f"{value}, {TOLERANCE} 0.15", value - 0.15, value + 0.15,
                 "García & Weiss 2018, NAEP 2015 (EVIDENCE.md, attendance)",
                 lambda r, band=band: r.observed(f"missed {band}"))
          for key, band, value in (("1_2", "1-2", -0.10), ("3_4", "3-4", -0.29), ("5_10", "5-10", -0.39),
                                   ("over_10", "more than 10", -0.64))],
        Figure("chronic_absence", "chronic absence rate", "about 1 pupil in 7", 0.11, 0.18,
               "Attendance Works (EVIDENCE.md)", lambda r: r.mean("baseline", "chronic_absence_rate")),
        Figure("graduation", "graduation rate (seniors)", f"about 87%, {TOLERANCE} 5 points", 0.82, 0.92,
               "NCES adjusted cohort graduation rate (leaving_school.graduation_intercept)",
               lambda r: r.mean("baseline", "graduation_rate")),
        Figure("college_of_graduates", "college enrolment of graduates", f"about 62%, {TOLERANCE} 7 points",
               0.55, 0.69, "NCES (leaving_school.college_intercept)",
               lambda r: r.mean("baseline", "college_enrolment_rate") / r.mean("baseline", "graduation_rate")),
        Figure("reclassified", "English learners reclassified a year", "6.9% (2021) to 14.6% (2018)", 0.069, 0.146,
               "UCLA CTS, California (EVIDENCE_PROGRAMMES.md section 11)",
               lambda r: r.observed("reclassified a year")),
        Figure("learner_share", "share of pupils who are English learners", CITY_FIGURE, 0.0, 0.0,
               "city profile", lambda r: r.observed("learner share")),
        Figure("preschool_effect", "preschool: participants at the end of the year, reading and math (SD)",
               f"0.35, {TOLERANCE} 30%", *_tolerance(0.35, 0.3),
               "Duncan & Magnuson 2013 (EVIDENCE.md, programme effects)",
               lambda r: r.paired("preschool", JUNE_DONE, _score_effect(
                   ("reading", "math"), _participants("preschool")))),
        Figure("summer_effect", "summer: 20+ day attenders at the end of August, reading and math (SD)",
               f"0.064, {TOLERANCE} 30%", *_tolerance(0.064, 0.3),
               "WSIPP 354; high attenders: Augustine et al. 2016 (EVIDENCE.md)",
               lambda r: r.paired("universal_summer", AUGUST_DONE, _score_effect(
                   ("reading", "math"), _high_attenders))),
        *[Figure(f"after_school_effect_{subject}", f"after-school: participants at the end of June, {subject} (SD)",
                 f"{value}, {TOLERANCE} 30%", *_tolerance(value, 0.3),
                 "Lauer et al. 2006 (EVIDENCE.md, programme effects)",
                 lambda r, subject=subject: r.paired("after_school", JUNE_DONE, _score_effect(
                     (subject,), _participants("after_school"))))
          for subject, value in (("reading", 0.13), ("math", 0.17))],
        Figure("mentoring_effect", "mentoring: matched children at the end of June, reading and math (SD)",
               f"0.21, {TOLERANCE} 30%", *_tolerance(0.21, 0.3),
               "DuBois et al. 2011, community-based (EVIDENCE.md, programme effects)",
               lambda r: r.paired("mentoring", JUNE_DONE, _score_effect(
                   ("reading", "math"), _participants("mentoring")))),
        Figure("college_advising_effect", "college advising: advised seniors' college enrolment (points)",
               f"+0.08, {TOLERANCE} 0.04", 0.04, 0.12, "Bettinger et al. 2012 (EVIDENCE.md, programme effects)",
               lambda r: r.paired("college_advising", JUNE_DONE, _college_effect)),
    ]


FIGURES = {figure.key: figure for figure in figures()}


def measure(keys: Sequence[str], outcomes: Sequence[str], city: str | CityProfile, seed: int, years: int,
            overrides: dict[str, Any] | None = None) -> dict[str, float]:
    """One seed's value of each figure (by key) and each baseline outcome (``metric[/group[/grade]]``), with the
    ``overrides`` set in every run: what a calibration measures at a candidate, in any process."""
    runs = Runs(city, seed, years, overrides)
    return {**{key: FIGURES[key].measure(runs) for key in keys}, **{name: runs.outcome(name) for name in outcomes}}


def validate(city: str | CityProfile = "salem", seeds: int = 5, years: int = 10, progress: bool = False,
             overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    """The report's table: each figure's key, target, range and source, the model's mean over ``seeds`` seeds with
    its 95% interval, and whether the mean falls in the range. ``overrides`` (dotted paths, e.g. a calibration's
    fitted parameters) apply to every run."""
    from tqdm.auto import tqdm

    from ..city.profile import load_city

    profile = load_city(city)
    values = []
    for seed in tqdm(range(seeds), desc="validating", unit="seed", disable=not progress):
        runs = Runs(profile, seed, years, overrides)
        values += [(figure.name, figure.measure(runs)) for figure in figures()]
    stats = interval(pd.DataFrame(values, columns=["figure", "value"]).groupby("figure", sort=False)["value"])
    rows = []
    for figure in figures():
        low, high = figure.low, figure.high
        if figure.target == CITY_FIGURE:
            low = high = profile.english_learners
        mean = stats.loc[figure.name, "mean"]
        rows.append({"key": figure.key, "figure": figure.name, "target": figure.target, "low": low, "high": high,
                     "source": figure.source, "model": mean, "ci_low": stats.loc[figure.name, "ci_low"],
                     "ci_high": stats.loc[figure.name, "ci_high"],
                     "within": bool(low <= mean <= high)})
    return pd.DataFrame(rows)


def write_report(table: pd.DataFrame, folder: str | Path, city: str, seeds: int, years: int,
                 included: str | Path | None = None) -> list[Path]:
    """``validation.csv`` and ``validation.html`` in ``folder``, each with the date, the package's version and the
    parameter file the runs ``included``, if any."""
    from .. import __version__

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (f"simcity-kids {__version__}, {datetime.date.today().isoformat()}: {city}, {seeds} seeds, "
             f"{years} years" + (f", parameters from {included}" if included else ""))
    csv = f"# {stamp}\n" + table.to_csv(index=False, float_format="%.4f")
    rows = "".join(
        f"<tr class='{'in' if row.within else 'out'}'><td>{html.escape(row.figure)}</td>"
        f"<td>{html.escape(row.target)}</td><td>{row.low:.3f} to {row.high:.3f}</td>"
        f"<td>{row.model:.3f}</td><td>{row.ci_low:.3f} to {row.ci_high:.3f}</td>"
        f"<td>{'yes' if row.within else 'no'}</td><td>{html.escape(row.source)}</td></tr>"
        for row in table.itertuples())
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>simcity-kids validation</title><style>"
            "body{font-family:sans-serif;margin:2em}td,th{border-bottom:1px solid #ccc;padding:4px 8px;"
            "text-align:left}tr.out td{background:#fde8e8}tr.in td:nth-child(6){color:#176}</style></head><body>"
            f"<h1>Validation report</h1><p>{html.escape(stamp)}. The model's value is the mean over seeds with "
            "its 95% interval; 'within' says whether the mean falls in the target's range.</p><table><tr>"
            "<th>figure</th><th>target</th><th>range</th><th>model</th><th>95% interval</th><th>within</th>"
            f"<th>source</th></tr>{rows}</table></body></html>\n")
    return [write_file_atomically(folder / "validation.csv", csv.encode()),
            write_file_atomically(folder / "validation.html", page.encode())]


def printed(table: pd.DataFrame) -> str:
    """The table as text for a terminal."""
    width = max(len(figure) for figure in table.figure)
    lines = [f"{'figure':{width}} {'range':>16} {'model':>7} {'95% interval':>17} within"]
    for row in table.itertuples():
        lines.append(f"{row.figure:{width}} {row.low:>7.3f} to {row.high:<6.3f} {row.model:>7.3f} "
                     f"{row.ci_low:>7.3f} to {row.ci_high:<6.3f} {'yes' if row.within else 'NO'}")
    return "\n".join(lines)
