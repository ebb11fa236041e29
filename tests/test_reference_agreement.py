"""The vectorised model agrees in distribution with a one-agent-per-child reference of the same rules.

The reference (``benchmarks/reference_model.py``) builds its own children from the same city profile with its
own seed (the run's seed plus an offset), drawing everything the monthly rules start from one child at a
time; only the demographic skeleton comes from the shared population generator. The two populations are two
samples of one city, so every comparison is of a statistic with a tolerance from both sampling errors:

    |reference - fast| <= 4.5 * sqrt(se_reference**2 + se_fast**2) + 1e-5

Standard errors count families, not children, as the sampled units (siblings share income, needs and their
school lottery number): for a mean, sqrt(sum over families of (sum of x - mean)**2) / n, which is
sqrt(var / n) when every family has one child; for an SD, the same for the squared deviations, over 2 SD
(delta method), so each sample's own shape sets its error (the fast model's monthly noise is uniform, the
reference's normal); a school's share of pupils is the mean of a 0/1 value. Over 12 seeds these errors held:
the differences in standard errors had an SD of 0.95 and never reached 4.1. With about 150 comparisons per run
at 4.5 standard errors, about one run of this file in 500 gives a false alarm, whatever the seed; 1e-5 SD
covers the fast model's float32 arithmetic.

Compared, over the starting children still in the city at the end, in groups defined alike in both models
(economically disadvantaged or not, by age at the start: 0-4, 5-6, 7-10, 11-17): for reading and math, the
mean and SD of the starting level, of the change over the run, of the change over the summers alone (end of
June to end of August) and over the school months; the mean and SD of the last school year's attendance of
pupils. And each school's share of its level's pupils at the end.

The main run, 24 months (two summers, a September turnover) of Salem with 80,000 pupils, has the learning
noise switched off, so that the change is driven by the deterministic rules (school value added, the
attendance effect, the unmet-need penalty, the summer drift) and its standard error is small: dropping any
one of those rules, or the attendance penalty of unmet needs, moves some group by 10 or more standard errors.
Every school gets an explicit value added in the profile, which both models read: different across schools
and above zero on average, so that misplacing pupils or dropping it shows. Seats grow with the pupils, so
that full schools turn pupils away to their next choices as in Salem. A second run at the default noise, with
20,000 pupils, checks the noise rules: the SD of the summer and of the school-month change. No programme
acts (Salem's summer providers are removed). The file runs in about 20 s on one core.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import simcity_kids as sk
from simcity_kids.city.profile import SCHOOL_LEVELS
from simcity_kids.core.calendar import LEAVING_AGE, SCHOOL_AGES
from conftest import generated

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from reference_model import ReferenceModel, observed  # noqa: E402

STANDARD_ERRORS = 4.5
FLOAT32_ALLOWANCE = 1e-5  # SD
REFERENCE_SEED_OFFSET = 1_000_003  # the reference's seed: the run's seed plus this, never the fast model's
AGE_BANDS = ((0, 4), (5, 6), (7, 10), (11, 17))  # age at the start
GROUPS = tuple((disadvantaged, low, high) for disadvantaged in (True, False) for low, high in AGE_BANDS)
# Value added per school, in the profile's school order (SD per year): spread across schools, above zero on
# average, so that dropping it or placing pupils in the wrong school moves the group means.
QUALITIES = (0.04, -0.06, 0.02, -0.04, 0.12, 0.06, 0.05, 0.08)
SUBJECTS = ("reading", "math")
QUANTITIES = tuple(f"{kind} {s}" for kind in ("start", "change", "summer change", "school-month change")
                   for s in SUBJECTS)
NO_NOISE = {"learning.school_month_noise_sd": 0.0, "learning.summer_noise_sd": 0.0}


def city(pupils: int) -> sk.CityProfile:
    """Salem with ``pupils`` pupils and its seats scaled alike, explicit value added, no summer providers."""
    salem = sk.load_city("salem")
    seats = pupils / salem.pupils
    schools = [s.model_copy(update={"quality": q, "capacity": round(s.capacity * seats)})
               for s, q in zip(salem.schools, QUALITIES, strict=True)]
    return salem.model_copy(update={"pupils": pupils, "schools": schools,
                                    "providers": [p for p in salem.providers if p.type != "summer"]})


def fast_observer(model: sk.CityModel) -> Callable[[], dict[str, np.ndarray]]:
    """What ``reference_model.observed`` gives, read from the fast model's arrays.

    The fast model drops leavers in place (keeping row order) and appends births, so its first rows are the
    starting children still in the city, in starting order. That is checked, not assumed."""
    start_age, family = model.children.age.astype(np.int64), model.children.family.copy()

    def observe() -> dict[str, np.ndarray]:
        septembers = max(model.month - 1, 0) // 12  # turnovers stepped so far
        rows = np.flatnonzero(start_age + septembers < LEAVING_AGE)
        children, kept = model.children, rows.size
        assert np.array_equal(children.family[:kept], family[rows]), "fast model's rows no longer match"
        reading, math = model.learning.observed(model)
        return {"row": rows, "family": children.family[:kept].astype(np.int64),
                "age": children.age[:kept].astype(np.int64),
                "disadvantaged": children.disadvantaged[:kept].copy(),
                "reading": reading[:kept].astype(np.float64), "math": math[:kept].astype(np.float64),
                "school": children.school[:kept].astype(np.int64),
                "attendance": model.needs.yearly_attendance(model)[:kept].astype(np.float64)}

    return observe


def follow(model: sk.CityModel | ReferenceModel, observe: Callable[[], dict[str, np.ndarray]],
           months: int) -> dict[str, np.ndarray]:
    """Run ``months`` months from September; per starting child still in the city at the end: the group
    traits at the start, the starting level, the change over the run and over the summers (end of June to
    end of August), the last school year's attendance and the school."""
    start = observe()
    assert np.array_equal(start["row"], np.arange(start["row"].size))
    summer = {s: np.zeros(start["row"].size) for s in SUBJECTS}
    june = start
    for _ in range(months):
        model.step()
        calendar_month = (model.month + 7) % 12 + 1  # of the month just run
        if calendar_month == 6:
            june = observe()
        elif calendar_month == 8:
            august = observe()
            assert np.array_equal(august["row"], june["row"])  # nobody leaves in summer
            for s in SUBJECTS:
                summer[s][august["row"]] += august[s] - june[s]
    end = observe()
    rows = end["row"]
    return {"family": end["family"], "disadvantaged": start["disadvantaged"][rows], "start_age": start["age"][rows],
            "age": end["age"], "attendance": end["attendance"], "school": end["school"],
            **{f"start {s}": start[s][rows] for s in SUBJECTS},
            **{f"change {s}": end[s] - start[s][rows] for s in SUBJECTS},
            **{f"summer change {s}": summer[s][rows] for s in SUBJECTS},
            **{f"school-month change {s}": end[s] - start[s][rows] - summer[s][rows] for s in SUBJECTS}}


def run_pair(config: sk.ScenarioConfig, pupils: int, months: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """The fast model and the reference on the same city and parameters, each with its own seed."""
    profile = city(pupils)
    fast = sk.CityModel(generated(config), city=profile, seed=seed, years=months // 12 + 1)  # as generated
    reference = ReferenceModel(profile, config, seed=seed + REFERENCE_SEED_OFFSET)
    return {"fast": follow(fast, fast_observer(fast), months),
            "reference": follow(reference, lambda: observed(reference), months)}


def mean_and_se(x: np.ndarray, family: np.ndarray) -> tuple[float, float]:
    """The mean and its standard error, with families as the sampled units (siblings share income, needs and
    school lottery number, so their values are not independent)."""
    per_family = np.bincount(family, weights=x - x.mean())
    return float(x.mean()), float(np.sqrt(np.sum(per_family**2)) / x.size)


def sd_and_se(x: np.ndarray, family: np.ndarray) -> tuple[float, float]:
    """The SD and its large-sample standard error (delta method on the variance, families as units)."""
    squares = (x - x.mean()) ** 2
    var, var_se = mean_and_se(squares, family)
    return (var**0.5, var_se / (2 * var**0.5)) if var > 0 else (0.0, 0.0)


def differ(label: str, reference: tuple[float, float], fast: tuple[float, float]) -> str | None:
    """A readable line when two estimates differ by more than the tolerance, else None."""
    (r, r_se), (f, f_se) = reference, fast
    se = float(np.hypot(r_se, f_se))
    if abs(r - f) <= STANDARD_ERRORS * se + FLOAT32_ALLOWANCE:
        return None
    return f"{label}: reference {r:.5f}, fast {f:.5f}" + (f" ({(r - f) / se:+.1f} standard errors)" if se else "")


def estimate(run: dict[str, np.ndarray], group: tuple[bool, int, int], quantity: str,
             statistic: Callable[[np.ndarray, np.ndarray], tuple[float, float]]) -> tuple[float, float]:
    """A statistic of ``quantity`` over a group's children (for attendance, those at school by the end)."""
    disadvantaged, low, high = group
    members = (run["disadvantaged"] == disadvantaged) & (run["start_age"] >= low) & (run["start_age"] <= high)
    if quantity == "attendance":
        members &= run["age"] >= SCHOOL_AGES[0]
    return statistic(run[quantity][members], run["family"][members])


def disagreements(pair: dict[str, dict[str, np.ndarray]]) -> list[str]:
    """Every comparison outside its tolerance, as readable lines (empty when the models agree)."""
    runs = (pair["reference"], pair["fast"])
    problems = []
    for group in GROUPS:
        disadvantaged, low, high = group
        name = f"{'disadvantaged' if disadvantaged else 'not disadvantaged'}, {low}-{high}"
        for quantity in (*QUANTITIES, "attendance"):
            for label, statistic in (("mean", mean_and_se), ("SD of", sd_and_se)):
                problems.append(differ(f"{name}: {label} {quantity}",
                                       *(estimate(run, group, quantity, statistic) for run in runs)))
    schools = sk.load_city("salem").schools
    for level in SCHOOL_LEVELS:
        ids = [k for k, s in enumerate(schools) if s.level == level]
        for k in ids:
            problems.append(differ(f"{schools[k].name}: share of the {level} pupils",
                                   *(school_share(run, k, ids) for run in runs)))
    return [p for p in problems if p is not None]


def school_share(run: dict[str, np.ndarray], school: int, level: list[int]) -> tuple[float, float]:
    """The school's share of the pupils of its level at the end, and its standard error."""
    pupils = np.isin(run["school"], level)
    return mean_and_se((run["school"][pupils] == school).astype(np.float64), run["family"][pupils])


@pytest.mark.slow
def test_rules_agree_without_learning_noise(seed):
    """Without learning noise the deterministic rules set the change, each visible above sampling error."""
    pair = run_pair(sk.ScenarioConfig().with_overrides(NO_NOISE), pupils=80_000, months=24, seed=seed)
    assert disagreements(pair) == []


@pytest.mark.slow
def test_noise_agrees(seed):
    """At the default noise the spread of the change (the noise rules) agrees; fewer pupils suffice."""
    pair = run_pair(sk.ScenarioConfig(), pupils=20_000, months=24, seed=seed)
    assert disagreements(pair) == []
