"""Vision screening with glasses (MODEL_SPEC section 4): school screening each fall, then an exam and glasses.

Each September the city screens ``coverage`` of the eligible pupils (phased in, within the budget). Screening
finds a pupil whose vision is uncorrected (the need 'vision') with the test's sensitivity. What follows a finding
is the lever ``glasses_at_school``: a mobile clinic examines the found pupils at school and gives them glasses
(Vision To Learn, Vision for Baltimore), or the finding is a referral to the city's optometrists, where the
child goes first in the queue if the family follows it up (``referrals.py``). Either way a child with glasses
no longer has the need only if they wear them; the need then stops costing days and learning (``needs.py``).

The optometrists also serve, all year and in the baseline too, the children whose families come on their own
(``services.NeedService``); with the referral path the city buys them slots for ``coverage`` of the children
with the need, with the school path it pays the mobile clinic instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.calendar import SCHOOL_AGES, SEPTEMBER
from ..core.params import LEVER, param
from . import register
from .base import APPLIED, ELIGIBLE, ENROLLED
from .services import NeedService, NeedServiceConfig

if TYPE_CHECKING:
    from ..model import CityModel

VISION = "EVIDENCE_PROGRAMMES.md section 2"


class VisionConfig(NeedServiceConfig):
    min_age: int = param(5, "years", "assumption: pupils, whom school screening reaches (Vision for Baltimore "
                         f"screens pre-K to grade 8, {VISION})", ge=0, le=17)
    cost_per_slot_usd: float = param(
        776.0, "USD per child given an exam and glasses (at school, or a funded optometrist slot)",
        f"{VISION}: school-based follow-up eye exams, SF preschools 2009-2013, $776 per case detected ($664 "
        "with community eye care), taken as the cost of an exam and a pair (assumption: glasses not split out)",
        ge=0, le=100_000)
    resolution_chance: float = param(
        0.71, "share of children given glasses who wear them (and so no longer have the need)",
        f"{VISION}: See Well to Learn, JAMA Ophthalmology 2021, 71% wore their glasses consistently", ge=0, le=1)
    screening_cost_usd: float = param(4.15, "USD per pupil screened",
                                      f"{VISION}: Prevent Blindness, school screening $4.15 per child", ge=0, le=1000)
    sensitivity: float = param(
        0.75, "share of screened pupils with uncorrected vision whom the screening finds",
        f"assumption: acuity screening misses some children who need glasses; {VISION} gives screen failures and "
        "their positive predictive value (86%, Glewwe, West & Lee 2018), not the sensitivity", ge=0, le=1)
    glasses_at_school: bool = param(True, "a mobile clinic examines found pupils at school and gives glasses "
                                    "(else they are referred to the optometrists)", LEVER)
    school_exam_share: float = param(
        0.549, "share of found pupils examined at school (consent and presence on the day)",
        f"{VISION}: SF preschools, follow-up at a mobile school-based clinic 112/204 (54.9%)", ge=0, le=1)


@register
class Vision(NeedService):
    """Vision screening in school each fall, then an exam and glasses at school or at an optometrist."""

    name = "vision"
    config_class = VisionConfig
    provider_types = ("optometrist",)
    need = "vision"
    config: VisionConfig

    def __init__(self, model: CityModel, config: VisionConfig):
        super().__init__(model, config)
        self.screenings = 0  # pupils the city pays to screen this school year (simulated)

    def buy_slots(self, model: CityModel, eligible: np.ndarray) -> None:
        """Screening first; optometrist slots only when found pupils are referred to them."""
        c = self.config
        pupils = np.count_nonzero(self.pupils(model))
        self.screenings = self.buy(model, c.coverage * self.phase(model.school_year) * pupils, c.screening_cost_usd)
        if not c.glasses_at_school:
            super().buy_slots(model, eligible)

    def pupils(self, model: CityModel) -> np.ndarray:
        """Pupils in the age band and targeting, with or without the need: those screening could reach."""
        return self.in_band(model) & (model.children.age >= SCHOOL_AGES[0])

    def intake(self, model: CityModel) -> tuple[np.ndarray, np.ndarray]:
        """In September the screening comes first: pupils given glasses at school are served at once, and
        referred ones go first in the optometrists' queue."""
        at_school = np.empty(0, dtype=np.int64)
        if model.calendar_month == SEPTEMBER and self.screenings:
            at_school = self.screen(model)
        rows, quality = super().intake(model)
        return np.concatenate([at_school, rows]), np.concatenate([np.ones(at_school.size), quality])

    def screen(self, model: CityModel) -> np.ndarray:
        """Screen this year's pupils, those with the lowest lottery numbers; return the found pupils given glasses
        at school (none with the referral path), in lottery order when the budget runs short."""
        children, c = model.children, self.config
        pupils = np.flatnonzero(self.pupils(model))
        lottery = model.streams.uniform("vision.screened", model.month, pupils)
        if self.screenings < pupils.size:  # a partition, not a sort
            screened = lottery <= np.partition(lottery, self.screenings - 1)[self.screenings - 1]
            pupils, lottery = pupils[screened], lottery[screened]
        in_need = model.needs.unmet(model, self.need)[pupils]
        pupils, lottery = pupils[in_need], lottery[in_need]
        found = model.streams.uniform("vision.found", model.month, pupils) < c.sensitivity
        found, lottery = pupils[found], lottery[found]
        if not c.glasses_at_school:
            model.referrals.refer(model, self.name, found, source="vision_screening")
            return np.empty(0, dtype=np.int64)
        examined = model.streams.uniform("vision.school_exam", model.month, found) < c.school_exam_share
        examined = found[examined][np.argsort(lottery[examined])]
        given = np.sort(examined[:self.buy(model, examined.size, c.cost_per_slot_usd)])
        getattr(children, self.enrolled)[given] = True
        reach = getattr(children, self.reach)
        reach[given] |= np.uint8(ELIGIBLE | APPLIED | ENROLLED)
        self.record_served(model, given, np.ones(given.size))
        return given
