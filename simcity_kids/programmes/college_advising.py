"""College access advising for grades 11 and 12 (MODEL_SPEC section 4 and 3.8).

Each September the city's college advisers (providers of type 'college_advising': advisers x caseload slots,
plus the slots the city funds), who work in the high schools, take on the juniors and seniors who apply, in
waitlist order, for the school year. A student advised in grade 11 or 12 counts as advised in June of grade 12,
when two things happen just before ``rules/leaving.py`` decides graduation and college enrolment:

- every senior completes the FAFSA or not, from one draw per child: at the baseline rate, or at the higher rate
  of advised seniors (``children.fafsa_completed``, recorded as ``fafsa_completion_rate``). Completing it
  raises the college logit by ``fafsa_college_logit`` against the baseline rate, so that the city's college
  enrolment without advising keeps its calibration;
- advised seniors get the rest of the sourced effect on the college logit, so that the whole effect of advising
  (FAFSA included) is ``college_logit_effect``.

Both go through ``children.college_logit_shift``, which ``rules/leaving.py`` reads and clears; graduation is
untouched. Enrolment ends in July.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import model_validator

from ..core.calendar import JUNE, SEPTEMBER, SUMMER_MONTHS
from ..core.params import param
from ..core.validation import InvalidAt
from ..rules.leaving import FINAL_GRADE_AGE
from . import register
from .base import Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel

SEASON_END = SUMMER_MONTHS[0]  # July: the advising year is over


class CollegeAdvisingConfig(ProgrammeConfig):
    min_age: int = param(16, "years", "MODEL_SPEC section 4: high-school students; grade 11 at 16", ge=0, le=17)
    max_age: int = param(17, "years", "MODEL_SPEC section 4: high-school students; grade 12 at 17", ge=0, le=17)
    cost_per_slot_usd: float = param(
        600.0, "USD per advised student and school year", "assumption: no cost row in the EVIDENCE files; an "
        "adviser at about 60,000 USD a year with a caseload of 100 students (school counsellors carry 408, "
        "EVIDENCE_PROGRAMMES.md section 1)", ge=0, le=100_000)
    college_logit_effect: float = param(
        0.37, "logit of college enrolment for an advised senior, FAFSA included",
        "EVIDENCE.md programme effects: Bettinger et al. 2012, 28% to 36% with FAFSA help; "
        "logit(0.36) - logit(0.28) = 0.37 (derived)", ge=0, le=3)
    fafsa_rate: float = param(
        0.6, "share of seniors completing the FAFSA without advising",
        "assumption: no FAFSA completion rate in the EVIDENCE files; somewhat over half of US seniors",
        ge=0, le=1)
    fafsa_rate_advised: float = param(
        0.85, "share of advised seniors completing the FAFSA", "assumption: advisers help most of their students "
        "file; Bettinger et al. 2012 (EVIDENCE.md) gave the help with the form itself", ge=0, le=1)
    fafsa_college_logit: float = param(
        0.8, "logit of college enrolment for completing the FAFSA, against the baseline rate",
        "assumption: part of college_logit_effect; aid applications open the way to aid (Bettinger et al. 2012)",
        ge=0, le=5)

    @model_validator(mode="after")
    def _fafsa_within_the_effect(self) -> CollegeAdvisingConfig:
        """The FAFSA's part of the effect of advising cannot exceed the whole effect."""
        if self.fafsa_rate_advised < self.fafsa_rate:
            raise InvalidAt("fafsa_rate_advised", f"must be at least fafsa_rate {self.fafsa_rate:g} "
                            f"(got {self.fafsa_rate_advised:g})")
        part = self.fafsa_college_logit * (self.fafsa_rate_advised - self.fafsa_rate)
        if part > self.college_logit_effect:
            raise InvalidAt("fafsa_college_logit", f"fafsa_college_logit x (fafsa_rate_advised - fafsa_rate) = "
                            f"{part:.3g} must not exceed college_logit_effect {self.college_logit_effect:g}")
        return self


@register
class CollegeAdvising(Programme):
    name = "college_advising"
    config_class = CollegeAdvisingConfig
    provider_types = ("college_advising",)
    school_based = True  # advisers work in the high schools (as College Advising Corps advisers do)
    config: CollegeAdvisingConfig

    def __init__(self, model: CityModel, config: CollegeAdvisingConfig):
        super().__init__(model, config)
        model.children.define("college_advised", bool)  # advised in grade 11 or 12
        model.children.define("fafsa_completed", bool)  # this June's seniors

    def step(self, model: CityModel) -> None:
        if not self.providers:
            return
        month = model.calendar_month
        if month == SEPTEMBER:
            enrolled, _ = self.enrol(model)
            model.children.college_advised[enrolled] = True
        elif month == JUNE:
            self.senior_year_ends(model)
        elif month == SEASON_END:
            self.end_season(model)

    def senior_year_ends(self, model: CityModel) -> None:
        """June, before graduation: seniors complete the FAFSA or not; both shifts go to the college logit."""
        children, c = model.children, self.config
        seniors = children.age == FINAL_GRADE_AGE
        advised = seniors & children.college_advised
        draw = model.streams(f"{self.name}.fafsa", model.month).random(len(children), dtype=np.float32)
        children.fafsa_completed = seniors & (draw < np.where(advised, np.float32(c.fafsa_rate_advised),
                                                              np.float32(c.fafsa_rate)))
        direct = c.college_logit_effect - c.fafsa_college_logit * (c.fafsa_rate_advised - c.fafsa_rate)
        shift = np.float32(c.fafsa_college_logit) * (children.fafsa_completed - np.float32(c.fafsa_rate))
        shift += np.float32(direct) * advised
        children.college_logit_shift += shift * seniors
        model.outcomes.rate(model, "fafsa_completion_rate", children.fafsa_completed, seniors)
