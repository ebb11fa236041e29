"""Preschool: children who got a seat because of the programme enter kindergarten more ready than the same
children without it, by the sourced effect times what persists by September; the gain fades by grade 3."""

from __future__ import annotations

import numpy as np
import pytest

import simcity_kids as sk
from simcity_kids.scenario import ScenarioConfig

SEPTEMBER_OF_YEAR_1 = 13  # steps: the 4-year-olds of year 0 are kindergarten entrants
JUNE_OF_GRADE_3 = 12 * 4 + 10  # steps: the same children at the end of grade 3
UNIVERSAL = {"programmes.preschool.coverage": 0.9, "programmes.preschool.outreach_share": 0.36}


class Snapshot:
    """What a test reads from one run: the entrants of year 1 at entry and at the end of grade 3."""

    def __init__(self, config: ScenarioConfig, seed: int):
        model = sk.CityModel(config, "salem", seed=seed, years=5)
        for _ in range(SEPTEMBER_OF_YEAR_1):
            model.step()
        children = model.children
        entrants = children.age == 5
        self.ids = children.id[entrants]
        self.years = children.preschool_years[entrants].copy()
        self.other_care = children.preschool_other_care[entrants].copy()
        reading, math = model.learning.observed(model)
        self.entry = np.vstack([reading[entrants], math[entrants]])
        for _ in range(JUNE_OF_GRADE_3 - SEPTEMBER_OF_YEAR_1):
            model.step()
        rows = np.flatnonzero(np.isin(model.children.id, self.ids))  # rows keep the order of ids
        assert (model.children.id[rows] == self.ids).all() and (model.children.age[rows] == 8).all()
        reading, math = model.learning.observed(model)
        self.grade3 = np.vstack([reading[rows], math[rows]])
        self.model = model
        self.table = model.outcomes.table()

    def metric(self, name: str) -> np.ndarray:
        frame = self.table[(self.table.metric == name) & (self.table.group_kind == "all")]
        return frame.sort_values("year").value.to_numpy()


@pytest.fixture(scope="module")
def runs() -> tuple[Snapshot, Snapshot]:
    from conftest import TEST_SEED

    return Snapshot(ScenarioConfig(), TEST_SEED), Snapshot(ScenarioConfig().with_overrides(UNIVERSAL), TEST_SEED)


def test_children_the_programme_enrols_enter_kindergarten_ahead_by_the_effect_times_persistence(runs):
    without, with_programme = runs
    model = with_programme.model
    c, learning = model.config.programmes.preschool, model.config.learning
    assert all(p.quality == 1.0 for p in model.programme("preschool").providers)
    np.testing.assert_array_equal(without.ids, with_programme.ids)
    new = (with_programme.years == 1) & (without.years == 0)  # a seat at 4 only because of the programme
    assert new.sum() >= 20
    # Credited September to June, kept in full while enrolled; the fading part then fades July to September,
    # unless another programme (summer, after school) sustains it in one of those months.
    persists = learning.persistent_share + (1 - learning.persistent_share) * (1 - learning.fade_rate) ** 3
    share = np.where(with_programme.other_care, c.other_care_share, 1.0)[new]
    effect = np.vstack([c.reading_effect_sd * share, c.math_effect_sd * share])
    gain = (with_programme.entry - without.entry)[:, new]
    assert (gain >= effect * persists - 1e-4).all() and (gain <= effect + 1e-4).all()
    np.testing.assert_allclose(np.median(gain / effect, axis=1), persists, atol=1e-4)
    assert 0.3 < gain[0][share == 1].mean() < 0.4  # Head Start vs parental care, 0.39 SD, about 94% left
    # Children who had a seat in both runs, or in neither, enter as they would have.
    same = with_programme.years == without.years
    np.testing.assert_allclose(with_programme.entry[:, same], without.entry[:, same], atol=1e-5)
    # Kindergarten readiness rises (never falls: every boost is positive) once the programme's 4-year-olds enter.
    rise = with_programme.metric("kindergarten_readiness_rate") - without.metric("kindergarten_readiness_rate")
    assert (rise >= 0).all() and rise[0] == 0 and rise[1:4].mean() > 0.005


def test_the_gain_fades_by_grade_3_but_its_persistent_part_stays(runs):
    without, with_programme = runs
    learning = with_programme.model.config.learning
    new = (with_programme.years == 1) & (without.years == 0)
    at_entry = (with_programme.entry - without.entry)[:, new]
    at_grade3 = (with_programme.grade3 - without.grade3)[:, new]
    persistent = learning.persistent_share * at_entry / (
        learning.persistent_share + (1 - learning.persistent_share) * (1 - learning.fade_rate) ** 3)
    assert (at_grade3 <= at_entry + 1e-5).all()
    assert (at_grade3 >= persistent - 1e-5).all()
    assert at_grade3.mean() < 0.8 * at_entry.mean()


def test_funded_seats_cost_the_sourced_price(runs):
    _, with_programme = runs
    model = with_programme.model
    programme, c = model.programme("preschool"), model.config.programmes.preschool
    eligible = with_programme.metric("preschool_eligible")[1] / model.child_weight
    seats = round(c.coverage * eligible - sum(p.base_capacity for p in programme.providers))
    assert seats > 0
    assert programme.cost_usd[1] == pytest.approx(seats * c.cost_per_slot_usd * model.child_weight)
