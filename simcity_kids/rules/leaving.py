"""Leaving school (MODEL_SPEC 3.8): at the end of grade 12, graduation and college enrolment.

Both chances rise with achievement and attendance. Pupils leave the city's arrays the next September
(``population.py``); their outcomes are counted here, in June, by group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.calendar import SCHOOL_AGES
from ..core.params import ASSUMPTION, EVIDENCE_FIT, Params, param

if TYPE_CHECKING:
    from ..model import CityModel

FINAL_GRADE_AGE = SCHOOL_AGES[1]


class LeavingParams(Params):
    graduation_intercept: float = param(
        2.421, "logit", f"{EVIDENCE_FIT}, to the US adjusted cohort graduation rate of about 87% (NCES)",
        ge=-10, le=10)
    graduation_per_sd: float = param(0.8, "logit per SD of achievement", ASSUMPTION, ge=0, le=5)
    graduation_per_attendance: float = param(10.0, "logit per share of days attended above normal", ASSUMPTION,
                                             ge=0, le=50)
    college_intercept: float = param(
        0.4396, "logit", f"{EVIDENCE_FIT}, to about 62% of US graduates enrolling in college (NCES)",
        ge=-10, le=10)
    college_per_sd: float = param(0.9, "logit per SD of achievement", ASSUMPTION, ge=0, le=5)
    college_per_attendance: float = param(
        6.0, "logit per share of days attended above normal",
        "assumption: attendance predicts enrolment beyond scores (MODEL_SPEC 3.8), weaker than for graduation",
        ge=0, le=50)
    graduation_per_social_emotional_sd: float = param(
        0.2, "logit per SD of social-emotional skill", "assumption: non-cognitive skills predict graduation "
        "beyond scores (MODEL_SPEC 3.8)", ge=0, le=5)


class LeavingSchool:
    """Decides, in June of grade 12, who graduates and who enrols in college."""

    name = "leaving_school"

    def __init__(self, model: CityModel, params: LeavingParams):
        self.params = params
        model.children.define("graduated", bool)
        model.children.define("college", bool)
        # Logit shifts programmes add for this year's seniors (college advising, mentoring); cleared each June.
        model.children.define("graduation_logit_shift", np.float32)
        model.children.define("college_logit_shift", np.float32)

    def step(self, model: CityModel) -> None:
        if model.calendar_month != 6:
            return
        children = model.children
        is_senior = children.age == FINAL_GRADE_AGE
        seniors = np.flatnonzero(is_senior)
        reading, math = model.learning.observed(model, seniors)
        attendance = model.needs.yearly_attendance(model)[seniors] - model.needs.params.normal_attendance
        graduation_shift = (children.graduation_logit_shift[seniors] + np.float32(
            self.params.graduation_per_social_emotional_sd) * children.social_emotional[seniors])
        graduation, college = self.chances(0.5 * (reading + math), attendance, graduation_shift,
                                           children.college_logit_shift[seniors])
        graduated = model.streams.uniform("leaving.graduation", model.month, seniors) < graduation
        children.graduated = False
        children.graduated[seniors] = graduated
        children.college = False
        children.college[seniors] = graduated & (model.streams.uniform("leaving.college", model.month, seniors)
                                                 < college)
        model.outcomes.rate(model, "graduation_rate", children.graduated, is_senior)
        children.graduation_logit_shift = 0.0
        children.college_logit_shift = 0.0
        model.outcomes.rate(model, "college_enrolment_rate", children.college, is_senior)

    def chances(self, score: np.ndarray, attendance: np.ndarray, graduation_shift: np.ndarray | float = 0.0,
                college_shift: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Chance to graduate, and to enrol in college once graduated, from the mean of reading and math
        (SD), the year's attendance above the normal rate (share of days) and any logit shifts."""
        p = self.params
        graduation = _logistic(p.graduation_intercept + p.graduation_per_sd * score
                               + p.graduation_per_attendance * attendance + graduation_shift)
        college = _logistic(p.college_intercept + p.college_per_sd * score + p.college_per_attendance * attendance
                            + college_shift)
        return graduation, college


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
