"""Personalized learning in chosen schools (MODEL_SPEC section 4): faster growth for pupils below grade level.

Each September the city funds personalized learning (adaptive software, teacher time) for ``coverage`` of the
pupils of the targeted schools, phased in over the years: those whose classrooms use it this school year.
There is no application and no provider: the whole classroom takes part. In each school month a covered pupil
who is below grade level in a subject grows faster in it, a persistent gain like a school's value added
(``Learning.add_growth``); a pupil at or above grade level, or in another school, learns as in the baseline.

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
        "over the 2014-15 school year; Pane et al. 2015 found 0.27 SD over 2 years, mostly in charters", ge=0, le=1)
    reading_growth_sd: float = param(
        0.053, "SD per school year of added reading growth for a covered pupil below grade level",
        "derived: the 2017 math figure (0.075 SD) times the reading-to-math ratio of Pane et al. 2015 (0.19 / 0.27; "
        "EVIDENCE_PROGRAMMES.md section 5); the 2017 study says only that reading gains were smaller", ge=0, le=1)
    below_grade_level_sd: float = param(
        -0.5, "SD against the national norm: a pupil below it in a subject grows faster in it",
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
        self._covered = np.empty(0, dtype=np.int64)  # rows of this school year's covered pupils
        self._version = -1  # the population version ``_covered`` belongs to

    def in_need(self, model: CityModel) -> np.ndarray:
        """Pupils below grade level in reading or math, as a test would measure them."""
        reading, math = model.learning.observed(model)
        return np.minimum(reading, math) < self.config.below_grade_level_sd

    def step(self, model: CityModel) -> None:
        if not self.funds_anything or not model.is_school_month:
            return
        if model.calendar_month == SEPTEMBER:
            self.choose_classrooms(model)
        if self._version != model.population.version:
            self._covered = np.flatnonzero(getattr(model.children, self.enrolled))
            self._version = model.population.version
        self.add_growth(model, self._covered)

    def choose_classrooms(self, model: CityModel) -> None:
        """Fund this school year's share of the eligible pupils; the pupils with the lowest draws are covered."""
        children = model.children
        eligible = np.flatnonzero(self.eligible(model))
        wanted = self.config.coverage * self.phase(model.school_year) * eligible.size
        units = min(self.funded_units(model, wanted, self.config.cost_per_slot_usd), eligible.size)
        draw = model.streams(f"{self.name}.classrooms", model.month).random(len(children))[eligible]
        covered = np.sort(eligible[np.argpartition(draw, units - 1)[:units]]) if units else eligible[:0]
        enrolled = getattr(children, self.enrolled)
        enrolled[:] = False
        enrolled[covered] = True
        reach = getattr(children, self.reach)
        reach[eligible] |= np.uint8(ELIGIBLE)
        reach[covered] |= np.uint8(ENROLLED)
        self._covered, self._version = covered, model.population.version

    def add_growth(self, model: CityModel, covered: np.ndarray) -> None:
        """One school month's added growth, in each subject the covered pupil is below grade level in."""
        children, c = model.children, self.config
        threshold = np.float32(c.below_grade_level_sd)
        below_reading = children.reading[covered] + children.boost_reading[covered] < threshold
        below_math = children.math[covered] + children.boost_math[covered] < threshold
        behind = below_reading | below_math
        reading = np.float32(c.reading_growth_sd / SCHOOL_MONTHS_PER_YEAR) * below_reading[behind]
        math = np.float32(c.math_growth_sd / SCHOOL_MONTHS_PER_YEAR) * below_math[behind]
        model.learning.add_growth(model, covered[behind], reading, math)
