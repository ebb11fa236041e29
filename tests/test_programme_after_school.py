"""After school: children who got a seat because of the programme end the school year ahead of the same
children without it, by the sourced effect times the dose they attended; more days give more effect."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

import simcity_kids as sk
from simcity_kids.programmes.base import ENROLLED
from conftest import generated

END_OF_JUNE = 10  # steps from September of year 0: one school year


def _school_year(seed: int, **levers) -> sk.CityModel:
    overrides = {f"programmes.after_school.{key}": value for key, value in levers.items()}
    model = sk.CityModel(generated(overrides=overrides), "salem", seed=seed, years=1)  # no earlier boosts
    for _ in range(END_OF_JUNE):
        model.step()
    return model


def _expected_dose(offered: int, full: int, p: float) -> float:
    """Mean of min(days / full, 1) for days ~ Binomial(offered, p): the average month's share of the effect."""
    return sum(comb(offered, k) * p**k * (1 - p) ** (offered - k) * min(k / full, 1.0) for k in range(offered + 1))


@pytest.fixture(scope="module")
def runs() -> tuple[sk.CityModel, sk.CityModel]:
    from conftest import TEST_SEED

    return _school_year(TEST_SEED), _school_year(TEST_SEED, coverage=0.3)


def _new_and_gain(without: sk.CityModel, with_programme: sk.CityModel) -> tuple[np.ndarray, np.ndarray]:
    """Children served only with the programme's funding, and their reading and math gain over the year."""
    np.testing.assert_array_equal(without.children.id, with_programme.children.id)
    served = [(m.children.reach_after_school & ENROLLED) > 0 for m in (without, with_programme)]
    new = served[1] & ~served[0]
    observed = [np.vstack(m.learning.observed(m)) for m in (without, with_programme)]
    return new, (observed[1] - observed[0])[:, new]


def test_enrolled_children_gain_the_effect_times_the_dose_they_attended(runs):
    without, with_programme = runs
    c = with_programme.config.programmes.after_school
    assert all(p.quality == 1.0 for p in with_programme.programme("after_school").providers)
    new, gain = _new_and_gain(without, with_programme)
    assert new.sum() >= 200
    dose = _expected_dose(c.days_offered, c.full_dose_days, c.attendance_probability)
    # Sustained every month the child attends, nothing fades during the year: the year's gain is the effect
    # times the mean monthly dose, within the sampling error of about 10 months per child.
    np.testing.assert_allclose(gain.mean(axis=1), [c.reading_effect_sd * dose, c.math_effect_sd * dose], rtol=0.03)
    # A child's gain is at most the effect times the days attended over a year of full doses; a child with an
    # earlier boost still fading in the baseline gains more, as attending sustains it.
    days = with_programme.children.after_school_days[new]
    no_other_boost = without.children.boost_reading[new] == 0
    assert no_other_boost.mean() > 0.5
    most = c.reading_effect_sd * np.minimum(days / (10 * c.full_dose_days), 1)
    assert (gain[0][no_other_boost] <= most[no_other_boost] + 1e-5).all()
    # Children served in both runs, or in neither, learn as they would have.
    same = ~new & ~((without.children.reach_after_school & ENROLLED) > 0)
    np.testing.assert_allclose(np.vstack(with_programme.learning.observed(with_programme))[:, same],
                               np.vstack(without.learning.observed(without))[:, same], atol=1e-5)
    # Homework help is part of the programme: its providers take children too.
    homework = [p for p in with_programme.programme("after_school").providers if p.type == "homework_help"]
    assert homework and all(p.funded_slots > 0 for p in homework)


def test_more_days_attended_give_more_effect(runs, seed):
    without, with_programme = runs
    new, gain = _new_and_gain(without, with_programme)
    days = with_programme.children.after_school_days[new]
    assert np.corrcoef(days, gain[0])[0, 1] > 0.5
    assert gain[0][days > np.median(days)].mean() > gain[0][days < np.median(days)].mean()
    # Across the scenario: half the attendance rate, well under the dose (about half the effect).
    c = with_programme.config.programmes.after_school
    rarely = _school_year(seed, coverage=0.3, attendance_probability=0.3)
    new_rarely, gain_rarely = _new_and_gain(without, rarely)
    ratio = gain_rarely.mean(axis=1) / gain.mean(axis=1)
    expected = (_expected_dose(c.days_offered, c.full_dose_days, 0.3)
                / _expected_dose(c.days_offered, c.full_dose_days, c.attendance_probability))
    np.testing.assert_allclose(ratio, expected, rtol=0.05)
    assert rarely.children.after_school_days[new_rarely].mean() < 0.6 * days.mean()
