"""Personalized learning in chosen schools (MODEL_SPEC section 4): faster growth for pupils below grade level.

Each September the city funds personalized learning (adaptive software, teacher time) for ``coverage`` of the
pupils of the targeted schools, phased in over the years: those whose classrooms use it this school year.
There is no application and no provider: the whole classroom takes part. A covered pupil who is below grade
level in a subject at the September diagnostic grows faster in it in every school month of that year, a
persistent gain like a school's value added (``Learning.add_growth``); a pupil at or above grade level, or in
another school, learns as in the baseline.

The evidence (Pane et al. 2015 and 2017, RAND) is an average over every pupil of the studied schools, most of
them charters; RAND found the lowest starters gained most, so the model gives that average to the pupils below
grade level only, which makes the school-wide average smaller (an assumption).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.calendar import SCHOOL_MONTHS_PER_YEAR, SEPTEMBER
from ..core.params import param
from . import register
from .base import ELIGIBLE, ENROLLED, Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel


class PersonalizedLearningConfig(ProgrammeConfig):
    min_age: int = param(5, "years", "assumption: every grade K-12; the RAND schools spanned elementary to high "
                         "school", ge=0, le=17)
    max_age: int = param(17, "years", "assumption: every grade K-12; the RAND schools spanned elementary to high "
                         "school", ge=0, le=17)
    cost_per_slot_usd: float = param(
        400.0, "USD per covered pupil and school year", "assumption: no cost per pupil was found "
        "(EVIDENCE_PROGRAMMES.md, 'Not found'); software licences, devices and teacher training at a few hundred "
        "dollars a pupil", ge=0, le=100_000)
    math_growth_sd: float = param(
        0.075, "SD per school year of added math growth for a covered pupil below grade level",
        "EVIDENCE_PROGRAMMES.md section 5: Pane et al. 2017, about 3 percentile points = 0.075 SD in math (D row), "
        "taken as one school year's (fall 2014 to spring 2015 scores, RAND brief RB9994); Pane et al. 2015 found "
        "0.27 SD over 2 years, mostly in charters", ge=0, le=1)
    reading_growth_sd: float = param(
        0.053, "SD per school year of added reading growth for a covered pupil below grade level",
        "derived: the 2017 math figure (0.075 SD) times the reading-to-math ratio of Pane et al. 2015 (0.19 / 0.27; "
        "EVIDENCE_PROGRAMMES.md section 5); the 2017 study says only that reading gains were smaller", ge=0, le=1)
    below_grade_level_sd: float = param(
        -0.5, "SD against the national norm: a pupil below it in a subject in September grows faster in it",
        "assumption: the adaptive work targets pupils behind; RAND 2015 found the lowest starters gained most",
        ge=-3, le=3)


@register
class PersonalizedLearning(Programme):
    name = "personalized_learning"
    config_class = PersonalizedLearningConfig
    school_based = True
    config: PersonalizedLearningConfig

    def __init__(self, model: CityModel, config: PersonalizedLearningConfig):
        super().__init__(model, config)
        # This school year's pupils behind in at least one subject, and their added growth per school month in
        # each (zero in a subject they are not behind in). Rows are stable from September to August.
        self._behind = np.empty(0, dtype=np.int64)
        self._reading_growth = self._math_growth = np.empty(0, dtype=np.float32)

    def in_need(self, model: CityModel, rows: np.ndarray | None = None) -> np.ndarray:
        """Pupils (every child, or these ``rows``) below grade level in reading or math, as a test would measure
        them."""
        reading, math = model.learning.observed(model, rows)
        return np.minimum(reading, math) < self.config.below_grade_level_sd

    def step(self, model: CityModel) -> None:
        if not self.funds_anything or not model.is_school_month:
            return
        if model.calendar_month == SEPTEMBER:  # after population turnover: this year's rows
            self.assess(model, self.choose_classrooms(model))
        model.learning.add_growth(model, self._behind, self._reading_growth, self._math_growth)

    def choose_classrooms(self, model: CityModel) -> np.ndarray:
        """Fund this school year's share of the eligible pupils; the pupils with the lowest draws are covered.
        Returns the covered pupils as a mask over the children."""
        children = model.children
        eligible = self.eligible(model)
        n_eligible = int(np.count_nonzero(eligible))
        wanted = self.config.coverage * self.phase(model.school_year) * n_eligible
        units = self.funded_units(model, wanted, self.config.cost_per_slot_usd)  # at most the eligible
        draw = model.streams(f"{self.name}.classrooms", model.month).random(len(children))
        if 0 < units < n_eligible:
            covered = eligible & (draw <= np.partition(draw[eligible], units - 1)[units - 1])
        else:
            covered = eligible & (units > 0)
        setattr(children, self.enrolled, covered)
        reach = getattr(children, self.reach)
        reach |= eligible.view(np.uint8) * np.uint8(ELIGIBLE)
        reach |= covered.view(np.uint8) * np.uint8(ENROLLED)
        return covered

    def assess(self, model: CityModel, covered: np.ndarray) -> None:
        """The September diagnostic: in each subject a covered pupil is below grade level in, the adaptive work
        adds growth in every school month of the year."""
        c = self.config
        threshold = np.float32(c.below_grade_level_sd)
        reading, math = model.learning.observed(model)  # as the diagnostic measures them
        below_reading = (reading < threshold) & covered
        below_math = (math < threshold) & covered
        self._behind = np.flatnonzero(below_reading | below_math)
        self._reading_growth = np.float32(c.reading_growth_sd / SCHOOL_MONTHS_PER_YEAR) * below_reading[self._behind]
        self._math_growth = np.float32(c.math_growth_sd / SCHOOL_MONTHS_PER_YEAR) * below_math[self._behind]
