"""After-school programming and homework help (MODEL_SPEC section 4): ages 5-14, school months, days as dose.

Seats at after-school and homework-help providers are allocated each September and held for the school year;
they end in June. Each school month an enrolled child attends a number of the days on offer (a fresh draw each
month); the month's tenth of the yearly effect, scaled by the provider's quality and by the days attended up to
a full dose, is credited through ``Learning.add_boost``: part of it persists, part fades once the child leaves,
as for an end-of-programme effect (MODEL_SPEC 3.5). A month in the programme also sustains earlier boosts.

The evidence (Lauer et al. 2006) is a meta-analysis of out-of-school-time programmes for pupils at risk; the
model gives its effect to a child who attends the full dose and a share of it to one who attends less. Homework
help is treated as after-school programming of the same kind; a profile can set its providers' quality.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.calendar import JUNE, SCHOOL_MONTHS_PER_YEAR, SEPTEMBER
from ..core.params import param
from . import register
from .base import DaysAttended, Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel

AGES = "assumption: elementary and middle-school ages, 5-14, as for summer programming (MODEL_SPEC section 4)"
LAUER = "EVIDENCE.md 'Programme effects': Lauer et al. 2006, RER 76(2), out-of-school time for at-risk pupils (M row)"


class AfterSchoolConfig(ProgrammeConfig):
    min_age: int = param(5, "years", AGES, ge=0, le=17)
    max_age: int = param(14, "years", AGES, ge=0, le=17)
    cost_per_slot_usd: float = param(
        2500.0, "USD per seat and school year",
        "assumption: no after-school cost row in EVIDENCE.md or EVIDENCE_PROGRAMMES.md; about 540 programme hours "
        "(3 hours on 180 days) at about $4-5 per slot-hour, the low end of the $4-12 the Wallace Foundation's "
        "Cost of Quality study (Grossman et al. 2009) reports for teen programmes", ge=0, le=100_000)
    reading_effect_sd: float = param(0.13, "SD of reading after a school year at the full dose", LAUER,
                                     ge=0, le=1)
    math_effect_sd: float = param(0.17, "SD of math after a school year at the full dose", LAUER, ge=0, le=1)
    days_offered: int = param(18, "programme days per school month",
                              "assumption: every school day, 180 days over the 10 school months", ge=1, le=31)
    full_dose_days: int = param(12, "days attended in a month for the month's full effect",
                                "assumption: about three afternoons a week", ge=1, le=31)
    attendance_probability: float = param(
        0.6, "share of the offered days an enrolled child attends",
        "assumption: enrolled pupils attend irregularly (as RAND found for summer programmes, "
        "EVIDENCE.md: Augustine et al. 2016)", ge=0, le=1)


@register
class AfterSchool(Programme):
    name = "after_school"
    config_class = AfterSchoolConfig
    provider_types = ("after_school", "homework_help")
    config: AfterSchoolConfig

    def __init__(self, model: CityModel, config: AfterSchoolConfig):
        super().__init__(model, config)
        model.children.define("after_school_days", np.int16)  # days attended this school year
        self.days = DaysAttended(config.days_offered, config.attendance_probability)  # in a school month
        self._rows = np.empty(0, dtype=np.int64)  # this school year's enrolled children
        self._monthly = np.empty((2, 0), dtype=np.float32)  # their reading and math effect per full-dose month

    def step(self, model: CityModel) -> None:
        if not self.providers or not model.is_school_month:
            return
        if model.calendar_month == SEPTEMBER:
            self.start_year(model)
        if self._rows.size:
            self.attend(model)
        if model.calendar_month == JUNE:
            self.end_season(model)

    def start_year(self, model: CityModel) -> None:
        """Fill this year's seats; each enrolled child's full-dose monthly effect follows its provider."""
        c = self.config
        model.children.after_school_days = 0
        rows, quality = self.enrol(model)
        per_month = (quality / SCHOOL_MONTHS_PER_YEAR).astype(np.float32)
        self._rows = rows
        self._monthly = np.vstack([np.float32(c.reading_effect_sd) * per_month,
                                   np.float32(c.math_effect_sd) * per_month])

    def attend(self, model: CityModel) -> None:
        """Days attended this month and the effect they give."""
        rows = self._rows
        days = self.days.draw(model, f"{self.name}.days", rows)
        model.children.after_school_days[rows] += days
        came = days > 0  # a month with no day attended neither adds nor sustains anything
        dose = np.minimum(days[came].astype(np.float32) / np.float32(self.config.full_dose_days), np.float32(1.0))
        monthly = self._monthly[:, came] * dose
        model.learning.add_boost(model, monthly[0], monthly[1], idx=rows[came])

    def end_season(self, model: CityModel) -> None:
        super().end_season(model)
        self._rows = np.empty(0, dtype=np.int64)
        self._monthly = np.empty((2, 0), dtype=np.float32)
