"""Leaving school: graduation and college enrolment both read achievement and attendance (MODEL_SPEC 3.8)."""

from __future__ import annotations

import numpy as np

import simcity_kids as sk
from simcity_kids.rules.leaving import FINAL_GRADE_AGE
from simcity_kids.scenario import ScenarioConfig

JUNE_OF_YEAR_0 = 10


def _seniors_in_june(overrides: dict, seed: int) -> sk.CityModel:
    model = sk.CityModel(ScenarioConfig().with_overrides(overrides), seed=seed, years=1)
    for _ in range(JUNE_OF_YEAR_0):
        model.step()
    return model


def test_college_enrolment_rises_with_attendance(seed):
    """Same seed, so the same seniors with the same draws: only the attendance weight differs. With common
    random numbers a senior's enrolment can only fall below normal attendance and only rise above it."""
    without, with_attendance = (_seniors_in_june({"leaving_school.college_per_attendance": weight}, seed)
                                for weight in (0.0, 20.0))
    seniors = without.children.age == FINAL_GRADE_AGE
    np.testing.assert_array_equal(without.children.graduated, with_attendance.children.graduated)
    attendance = without.needs.yearly_attendance(without) - without.needs.params.normal_attendance
    college = without.children.college, with_attendance.children.college
    low, high = seniors & (attendance < 0), seniors & (attendance > 0)
    assert not (college[1] & ~college[0] & low).any() and not (college[0] & ~college[1] & high).any()
    assert college[1][low].sum() < college[0][low].sum()  # the weight mattered for someone


def test_chances_rise_with_score_and_attendance(seed):
    model = sk.CityModel(seed=seed, years=1)
    score, attendance = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 0.03])
    graduation, college = model.leaving_school.chances(score, attendance)
    assert graduation[1] > graduation[0] < graduation[2]
    assert college[1] > college[0] < college[2]


def test_social_emotional_skill_and_programmes_logit_shifts_raise_graduation(seed):
    """Same seed, same draws: raising every senior's social-emotional skill (or a programme's graduation logit
    shift) before June only adds graduates; a college shift only adds college entrants."""
    def june(**raised) -> sk.CityModel:
        model = sk.CityModel(ScenarioConfig(), seed=seed, years=1)
        for _ in range(9):  # September to May
            model.step()
        for name, value in raised.items():
            getattr(model.children, name)[:] = value
        model.step()  # June: leaving school
        return model

    base = june()
    for raised in ({"social_emotional": 2.0}, {"graduation_logit_shift": 1.0}, {"college_logit_shift": 1.0}):
        model = june(**raised)
        more = "college" if "college_logit_shift" in raised else "graduated"
        before, after = getattr(base.children, more), getattr(model.children, more)
        assert not (before & ~after).any() and after.sum() > before.sum(), raised
        if more == "college":
            np.testing.assert_array_equal(model.children.graduated, base.children.graduated)
