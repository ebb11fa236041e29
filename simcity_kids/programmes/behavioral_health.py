"""Behavioral health in schools (MODEL_SPEC section 4): clinicians at school treat pupils with a behavioral-health need.

The city's behavioral-health agencies place clinicians in the schools (all, or the listed ones with targeting =
'schools'), so a pupil is seen at school: no travel and no awareness needed, only the family's consent (take-up).
Each September the city hires whole clinicians for ``coverage`` of the eligible pupils with the need, beyond what
the agencies offer anyway; a clinician treats ``caseload`` pupils a school year. A course of treatment meets the
need with the resolution chance (``services.NeedService``) and raises the pupil's social-emotional skill a little,
which attendance and graduation read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.params import param
from . import register
from .services import NeedService, NeedServiceConfig

if TYPE_CHECKING:
    from ..model import CityModel

SECTION = "EVIDENCE_PROGRAMMES.md section 1"


class BehavioralHealthConfig(NeedServiceConfig):
    min_age: int = param(5, "years", "assumption: pupils K-12, whom clinicians at school reach (Sanchez et al. "
                         f"2018 is elementary; {SECTION} also has programmes for ages 6-17)", ge=0, le=17)
    cost_per_slot_usd: float = param(
        2100.0, "USD per pupil treated in a school year",
        f"{SECTION}: Becoming a Man (in-school group CBT), about $2,100 per participant (Heller et al. 2017, M row); "
        "the intensive programme for emotional disturbance costs $7,212", ge=0, le=100_000)
    resolution_chance: float = param(
        0.22, "chance that a course of treatment meets the need, at provider quality 1",
        f"derived from {SECTION}: Sanchez et al. 2018, overall Hedges g = 0.39 (targeted programmes 0.76), read as "
        "the chance a treated pupil ends better off minus the reverse, 2 Phi(g / sqrt 2) - 1 = 0.22 (0.41 for "
        "g = 0.76); the conversion is an assumption", ge=0, le=1)
    caseload: int = param(
        50, "pupils one clinician treats in a school year",
        "assumption: about 25 pupils at a time in courses of about half a school year (Becoming a Man: about 13 "
        f"sessions, {SECTION}); ASCA recommends 250 pupils per counsellor, who do much besides treatment",
        ge=1, le=1000)
    social_emotional_sd: float = param(
        0.1, "SD of social-emotional skill a course of treatment adds",
        f"assumption: a quarter of Sanchez et al. 2018's g = 0.39 on mental-health problems; {SECTION}: Ballard, "
        "Sander & Klimes-Dougan 2014 saw SDQ scores improve (size not read)", ge=0, le=1)


@register
class BehavioralHealth(NeedService):
    """Clinicians placed in the schools treat pupils with a behavioral-health need."""

    name = "behavioral_health"
    config_class = BehavioralHealthConfig
    provider_types = ("behavioral_health",)
    need = "behavioral_health"
    school_based = True
    config: BehavioralHealthConfig

    def children_per_unit(self) -> int:
        return self.config.caseload

    def intake(self, model: CityModel) -> tuple[np.ndarray, np.ndarray]:
        """Treated pupils also gain social-emotional skill, in proportion to the agency's quality."""
        rows, quality = super().intake(model)
        model.children.social_emotional[rows] += (self.config.social_emotional_sd * quality).astype(np.float32)
        return rows, quality
