"""Universal summer programming (MODEL_SPEC section 4): ages 5-14, July and August, attendance days as dose.

Slots are allocated in June for the coming summer. An enrolled child attends a number of days; the
programme's effect, scaled by the provider's quality and by days attended up to the 'high attender' dose,
is credited over July and August. Enrolment ends in September.

The effect comes on top of the summer drift every child has (``learning.py``), it does not replace it:
the sourced effect (WSIPP 354) is measured against similar children who spent the summer without a
programme, so it already is the difference a programme makes to the summer change. Switching the drift
off for enrolled children as well would count part of that difference twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.calendar import JUNE, SEPTEMBER, SUMMER_MONTHS
from ..core.params import param
from . import register
from .base import DaysAttended, Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel

ALLOCATION_MONTH = JUNE


class SummerConfig(ProgrammeConfig):
    min_age: int = param(5, "years", "MODEL_SPEC section 4: ages 5-14", ge=0, le=17)
    max_age: int = param(14, "years", "MODEL_SPEC section 4: ages 5-14", ge=0, le=17)
    cost_per_slot_usd: float = param(1132.0, "USD (2013) per summer slot", "WSIPP programme 354", ge=0,
                                     le=100_000)
    effect_sd: float = param(0.064, "SD on test scores at the end of a full-dose summer",
                             "WSIPP programme 354 (academic summer programmes, K-8, about 6 weeks)", ge=0, le=1)
    days_offered: int = param(30, "days", "WSIPP 354 and Augustine et al. 2016: 5-6 week programmes", ge=1, le=60)
    high_attender_days: int = param(20, "days for the full effect",
                                    "Augustine et al. 2016, RAND RR1557: 'high attenders' came 20+ days", ge=1, le=60)
    attendance_probability: float = param(0.7, "share of offered days attended",
                                          "assumption: RAND found many enrolled pupils attend irregularly",
                                          ge=0, le=1)


@register
class SummerProgramme(Programme):
    name = "summer"
    config_class = SummerConfig
    provider_types = ("summer",)
    config: SummerConfig

    def __init__(self, model: CityModel, config: SummerConfig):
        super().__init__(model, config)
        model.children.define("summer_days", np.int16)
        self.days = DaysAttended(config.days_offered, config.attendance_probability)
        self._rows = np.empty(0, dtype=np.int64)  # this summer's enrolled children with an effect
        self._monthly = np.empty(0, dtype=np.float32)  # their effect per summer month

    def step(self, model: CityModel) -> None:
        if model.calendar_month == ALLOCATION_MONTH:
            self.start_summer(model)
        elif model.calendar_month in SUMMER_MONTHS:
            if self._rows.size:
                model.learning.add_boost(model, self._monthly, self._monthly, idx=self._rows)
        elif model.calendar_month == SEPTEMBER:
            self.end_season(model)

    def start_summer(self, model: CityModel) -> None:
        """Fill the summer's slots; each enrolled child's days attended and effect, scaled by the provider's
        quality and the dose."""
        c = self.config
        enrolled, quality = self.enrol(model)
        days = self.days.draw(model, f"{self.name}.days", enrolled)
        model.children.summer_days[enrolled] = days
        effect = (c.effect_sd * quality * np.minimum(days / c.high_attender_days, 1.0)).astype(np.float32)
        credited = effect != 0  # no day attended (or no effect): nothing to add and no boost sustained
        self._rows = enrolled[credited]
        self._monthly = effect[credited] / np.float32(len(SUMMER_MONTHS))

    def end_season(self, model: CityModel) -> None:
        super().end_season(model)
        model.children.summer_days = 0
        self._rows = np.empty(0, dtype=np.int64)
        self._monthly = np.empty(0, dtype=np.float32)
