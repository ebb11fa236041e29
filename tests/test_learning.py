"""The summer-loss setting changes how gaps move over July and August, and only then."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simcity_kids as sk
from simcity_kids.core.calendar import SCHOOL_AGES
from simcity_kids.outcomes import GRADES
from simcity_kids.scenario import ScenarioConfig
from conftest import generated


def _gap_change(trace: pd.DataFrame, months: tuple[int, int]) -> float:
    """Mean change of the reading Q5-Q1 gap from the end of month[0] to the end of month[1], per year."""
    gap = trace[trace.metric == "reading_gap_Q5-Q1"].pivot_table(index="year", columns="month", values="value")
    return float((gap[months[1]] - gap[months[0]]).mean())


def test_summer_setting_changes_gap_movement_over_july_and_august(large_salem, seed):
    weak = sk.run(ScenarioConfig().with_overrides({"learning.summer_loss": "weak"}), city=large_salem,
                  years=3, seed=seed)
    strong = sk.run("strong_summer_loss", city=large_salem, years=3, seed=seed)
    summer_weak, summer_strong = _gap_change(weak.trace, (6, 8)), _gap_change(strong.trace, (6, 8))
    # Faucet: about 0.04 SD per SD of log income per summer, about 0.1 SD on the Q5-Q1 gap.
    assert summer_strong > summer_weak + 0.05
    assert abs(summer_weak) < 0.03
    # School months are governed by the same rules in both settings.
    school_weak, school_strong = _gap_change(weak.trace, (9, 6)), _gap_change(strong.trace, (9, 6))
    assert abs(school_strong - school_weak) < 0.02


def test_boosts_fade_unless_sustained(seed):
    model = sk.CityModel(generated(), seed=seed, years=1)  # no boosts from the burn-in's programmes
    children = model.children
    idx = np.arange(10)
    before = children.reading[idx].copy()
    model.learning.add_boost(model, 0.2, 0.2, idx)
    share = model.learning.params.persistent_share
    np.testing.assert_allclose(children.reading[idx] - before, share * 0.2, rtol=1e-5)
    np.testing.assert_allclose(children.boost_reading[idx], (1 - share) * 0.2, rtol=1e-5)
    model.step()  # sustained this month: no decay
    np.testing.assert_allclose(children.boost_reading[idx], (1 - share) * 0.2, rtol=1e-5)
    model.step()  # not sustained: decays by the fade rate
    expected = (1 - share) * 0.2 * (1 - model.learning.params.fade_rate)
    np.testing.assert_allclose(children.boost_reading[idx], expected, rtol=1e-5)


def test_june_means_by_grade_and_group_are_the_pupils_own_means(seed):
    """The yearly table's reading means by grade (and by grade and income quintile) are the plain means of the
    pupils' observed scores in June: the one group-by puts every child in its own grade and group."""
    model = sk.CityModel("by_all_means", seed=seed, years=1)
    for _ in range(10):  # September to the end of June
        model.step()
    frame = model.outcomes.table()
    june = frame[(frame.metric == "reading_mean") & (frame.year == 0)]
    reading, _ = model.learning.observed(model)
    grade = model.children.age.astype(int) - SCHOOL_AGES[0]
    quintile = model.children.income_quintile
    for g in (0, 3, 12):
        pupils = grade == g
        overall = june[(june.group_kind == "all") & (june.grade == GRADES[g])].value.item()
        assert overall == pytest.approx(reading[pupils].mean(), rel=1e-5, abs=1e-6)
        poorest = june[(june.group == "Q1") & (june.grade == GRADES[g])].value.item()
        assert poorest == pytest.approx(reading[pupils & (quintile == 0)].mean(), rel=1e-5, abs=1e-6)
