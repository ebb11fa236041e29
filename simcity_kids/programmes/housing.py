"""Housing stabilization (MODEL_SPEC section 4): emergency financial assistance for families at risk of losing
their home.

Housing instability is a family's need (``needs.py``) and costs children many school days and much learning. A
family that gets a place with the city's housing-assistance office receives a one-time grant of about one or two
months' rent; the grant ends the spell of instability with the resolution chance (``services.NeedService``), the
share by which such grants cut homelessness. A family is helped once a school year; instability may come back.
Long-term vouchers (Family Options Study, EVIDENCE_PROGRAMMES.md section 4) cost about $14,064 a family-year and
cut homelessness by a smaller share: a scenario can set those figures instead.
"""

from __future__ import annotations

from ..core.params import param
from . import register
from .services import NeedService, NeedServiceConfig

SECTION = "EVIDENCE_PROGRAMMES.md section 4"


class HousingConfig(NeedServiceConfig):
    cost_per_slot_usd: float = param(
        4442.0, "USD per family helped in a school year, shared by the family's eligible children",
        f"{SECTION}: Phillips & Sullivan 2023, Santa Clara emergency financial assistance, about $4,442 per "
        "household (M row)", ge=0, le=100_000)
    resolution_chance: float = param(
        0.76, "chance that a grant ends the family's housing instability, at provider quality 1",
        f"{SECTION}: Evans, Sullivan & Wallskog 2016, callers offered funds 76% less likely to be homeless at "
        "6 months (88% at 3 months; Phillips & Sullivan 2023: 81%)", ge=0, le=1)


@register
class Housing(NeedService):
    """One-time emergency financial assistance for families whose housing is unstable."""

    name = "housing"
    config_class = HousingConfig
    provider_types = ("housing_assistance",)
    need = "housing_instability"
    config: HousingConfig
