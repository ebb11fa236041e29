"""Personalized learning: faster school-month growth for covered pupils below grade level, nobody else moves."""

from __future__ import annotations

import numpy as np
import pytest

import simcity_kids as sk
from simcity_kids.scenario import ScenarioConfig

SCHOOLS = ["Saltonstall", "Collins Middle"]
ONE_YEAR = 12


def _config(**levers) -> ScenarioConfig:
    levers = {"coverage": 0.8, "targeting": "schools", "schools": SCHOOLS, **levers}
    return ScenarioConfig().with_overrides({f"programmes.personalized_learning.{k}": v for k, v in levers.items()})


def _rows_of(model: sk.CityModel, ids: np.ndarray) -> np.ndarray:
    """Row of each child ``ids`` names in ``model`` (the stable ``children.id``)."""
    order = np.argsort(model.children.id)
    rows = order[np.searchsorted(model.children.id, ids, sorter=order)]
    np.testing.assert_array_equal(model.children.id[rows], ids)
    return rows


def test_covered_pupils_below_grade_level_grow_faster_by_the_parameter_and_nobody_else_moves(seed):
    """Same seed with and without the programme, a school year plus summer: a covered pupil below grade level in a
    subject at the September diagnostic gains the yearly growth in it; everyone else's scores are bit-identical to
    the baseline's (the same child by ``children.id``)."""
    treated = sk.CityModel(_config(), seed=seed, years=1)
    baseline = sk.CityModel(ScenarioConfig(), seed=seed, years=1)
    config = treated.config.programmes.personalized_learning
    programme = treated.programme("personalized_learning")
    step, below = programme.step, []

    def diagnosed_step(model: sk.CityModel) -> None:
        """The programme's month; in September, who is below grade level when it runs (programmes before it in
        the month may have moved scores)."""
        if model.calendar_month == 9:
            below.append(np.stack(model.learning.observed(model)) < config.below_grade_level_sd)
        step(model)

    programme.step = diagnosed_step
    for _ in range(ONE_YEAR):
        treated.step()
        baseline.step()
    children = treated.children
    covered = children.enrolled_personalized_learning
    rows = _rows_of(baseline, children.id)
    gain = np.stack([children.reading - baseline.children.reading[rows],
                     children.math - baseline.children.math[rows]])
    helped = below[0] & covered
    expected = helped * np.array([[config.reading_growth_sd], [config.math_growth_sd]])
    np.testing.assert_allclose(gain, expected, atol=2e-6)
    assert helped[0].sum() > 200 and helped[1].sum() > 200  # many pupils behind in each subject: the test bites

    untouched = ~helped.any(axis=0)
    assert (covered & untouched).sum() > 200 and (~covered).sum() > 1000
    for name in ("reading", "math", "boost_reading", "boost_math"):
        np.testing.assert_array_equal(getattr(children, name)[untouched],
                                      getattr(baseline.children, name)[rows][untouched], err_msg=name)


def test_coverage_phase_in_reach_and_cost(seed):
    """Two-year phase-in: half the coverage in year 0, all of it in year 1, only in the targeted schools; cost is
    the covered pupils times the cost per pupil."""
    model = sk.CityModel(_config(phase_in_years=2), seed=seed, years=2)
    config = model.config.programmes.personalized_learning
    names = [s.name for s in model.schools]
    targeted = [names.index(s) for s in SCHOOLS]
    covered_share = []
    for year in range(2):
        for _ in range(ONE_YEAR):
            model.step()
            children = model.children
            covered = children.enrolled_personalized_learning
            assert np.isin(children.school[covered], targeted).all()
            eligible = np.isin(children.school, targeted) & (children.age >= 5)
        covered_share.append(covered.sum() / eligible.sum())
        assert abs(covered_share[-1] - config.coverage * (year + 1) / 2) < 1e-3
    frame = model.outcomes.table()
    rows = frame[frame.group_kind == "all"].set_index(["metric", "year"]).value
    for year in range(2):
        enrolled = rows["personalized_learning_enrolled", year]
        assert enrolled > 0 and rows["personalized_learning_eligible", year] > enrolled
        cost = frame[(frame.metric == "cost_usd") & (frame.group == "personalized_learning") & (frame.year == year)]
        assert float(cost.value.iloc[0]) == pytest.approx(enrolled * config.cost_per_slot_usd)


def test_universal_targeting_covers_pupils_of_every_school(seed):
    config = ScenarioConfig().with_overrides({"programmes.personalized_learning.coverage": 0.5})
    model = sk.CityModel(config, seed=seed, years=1)
    model.step()
    children = model.children
    covered = children.enrolled_personalized_learning
    assert set(np.unique(children.school[covered])) == set(range(len(model.schools)))
    assert abs(covered.sum() / (children.age >= 5).sum() - 0.5) < 1e-3
