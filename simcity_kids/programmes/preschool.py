"""Expanded or universal preschool (MODEL_SPEC section 4): ages 3-4, September to June, through readiness.

Seats are allocated each September for the school year. An enrolled child gains, over the ten school months,
the programme's end-of-year effect, scaled by the provider's quality; it enters readiness (MODEL_SPEC 3.1)
through ``Learning.add_boost``, so part of it persists and part fades month by month once the child has left
(MODEL_SPEC 3.5): preschool gains partly fade by grade 3. Seats end in June. Families apply as for any
programme (awareness, travel time); the city's enrolment outreach, a lever, brings in some who would not.

What a seat adds depends on the care the child would have had without it (Head Start Impact Study): against
parental care the gains are large, against other centre care they are near zero. Each child is drawn once
whether their family would use other centre care anyway, more often in families that are not disadvantaged;
those children gain only a small share of the effect. Universal preschool therefore narrows the gap at entry
even though every child may take a seat. A second year of preschool adds less than the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.calendar import JUNE, SCHOOL_MONTHS_PER_YEAR, SEPTEMBER
from ..core.params import param
from . import register
from .base import Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel

HEAD_START = "EVIDENCE_PROGRAMMES.md section 12: Zhai, Brooks-Gunn & Waldfogel 2014 (Head Start Impact Study)"
CENTRE_CARE = ("EVIDENCE_PROGRAMMES.md section 12: EdRedesign Lab By All Means report, ages 3-6 in centre-based "
               "care: 46% below poverty, 72% above (economically disadvantaged taken as 'below poverty')")


class PreschoolConfig(ProgrammeConfig):
    min_age: int = param(3, "years", "MODEL_SPEC section 4: preschool for ages 3-4", ge=0, le=17)
    max_age: int = param(4, "years", "MODEL_SPEC section 4: preschool for ages 3-4", ge=0, le=17)
    cost_per_slot_usd: float = param(
        7170.0, "USD (2022-23) per seat and school year",
        "EVIDENCE_PROGRAMMES.md section 12: NIEER State of Preschool 2023, $11.7B / 1,631,968 children = about "
        "$7,170 per enrolled child (D row); WSIPP 270 gives $7,260 (2016, EVIDENCE.md)", ge=0, le=100_000)
    reading_effect_sd: float = param(
        0.39, "SD of reading readiness after a school year, against parental care",
        f"{HEAD_START}, table 4, effect vs parental care: mean of PPVT and letter-word for 3- and 4-year-olds "
        "((0.30 + 0.51 + 0.30 + 0.46) / 4)", ge=0, le=2)
    math_effect_sd: float = param(
        0.35, "SD of math readiness after a school year, against parental care",
        f"{HEAD_START}, table 4, effect vs parental care: applied problems, mean of 3- and 4-year-olds "
        "((0.33 + 0.36) / 2)", ge=0, le=2)
    other_care_share: float = param(
        0.13, "share of the effect for a child who would otherwise be in other centre care",
        f"derived from {HEAD_START}: the six effects vs other centre care average 0.05 SD, those vs parental "
        "care 0.38 SD", ge=0, le=1)
    other_care_disadvantaged: float = param(
        0.46, "share of children of disadvantaged families in other centre care without a seat", CENTRE_CARE,
        ge=0, le=1)
    other_care_not_disadvantaged: float = param(
        0.72, "share of other children in other centre care without a seat", CENTRE_CARE, ge=0, le=1)
    second_year_share: float = param(
        0.5, "effect of a second year of preschool as a share of the first",
        "assumption: no row compares one year of preschool with two; half, for diminishing returns to a "
        "second year of the same programme", ge=0, le=1)
    outreach_share: float = param(
        0.0, "share of aware families who would not apply that the city's enrolment outreach (texts, help "
        "applying) brings in while it funds seats; 0.36 with outreach like On My Way Pre-K",
        "scenario lever; EVIDENCE_PROGRAMMES.md section 6: Alayan et al. 2020, 30% of interested families "
        "usually enrol vs 55% with texts (descriptive), so (0.55 - 0.30) / (1 - 0.30) = 0.36", ge=0, le=1)


@register
class Preschool(Programme):
    name = "preschool"
    config_class = PreschoolConfig
    provider_types = ("preschool",)
    config: PreschoolConfig

    def __init__(self, model: CityModel, config: PreschoolConfig):
        super().__init__(model, config)
        children = model.children
        drawn = "preschool_other_care" in children  # kept from the burn-in when the city adopts a new policy
        children.define("preschool_years", np.int8)  # school years of preschool begun
        children.define("preschool_other_care", bool)  # the family would use other centre care anyway
        if not drawn:
            self.draw_other_care(model, np.arange(len(children)), model.streams("preschool.other_care", model.month))
        self._rows = np.empty(0, dtype=np.int64)  # this school year's enrolled children
        self._monthly = np.empty((2, 0), dtype=np.float32)  # their reading and math credit per school month

    def init_children(self, model: CityModel, new: np.ndarray) -> None:
        self.draw_other_care(model, new, model.streams("preschool.other_care", model.month))

    def draw_other_care(self, model: CityModel, idx: np.ndarray, rng: np.random.Generator) -> None:
        """Whether each child's family would use other centre care without a seat, drawn once per child."""
        c, children = self.config, model.children
        chance = np.where(children.disadvantaged[idx], c.other_care_disadvantaged, c.other_care_not_disadvantaged)
        children.preschool_other_care[idx] = rng.random(idx.size) < chance

    def applicants(self, model: CityModel, eligible: np.ndarray) -> np.ndarray:
        """The base's applicants, plus aware families the outreach persuades in years the city funds seats."""
        applied = super().applicants(model, eligible)
        if self.config.outreach_share == 0 or not self.funds_anything or self.phase(model.school_year) == 0:
            return applied
        rows = np.flatnonzero(eligible)
        aware = getattr(model.families, f"aware_{self.name}")[model.children.family[rows]]
        draw = model.streams.uniform(f"{self.name}.outreach", model.month, rows)
        applies = aware & (draw < self.config.outreach_share)
        applies[np.searchsorted(rows, applied)] = True  # the base's applicants are eligible rows too
        return rows[applies]

    def step(self, model: CityModel) -> None:
        if not self.providers or not model.is_school_month:
            return
        if model.calendar_month == SEPTEMBER:
            self.start_year(model)
        if self._rows.size:
            model.learning.add_boost(model, self._monthly[0], self._monthly[1], idx=self._rows)
        if model.calendar_month == JUNE:
            self.end_season(model)

    def start_year(self, model: CityModel) -> None:
        """Fill this year's seats and fix each enrolled child's effect for the year."""
        children, c = model.children, self.config
        rows, quality = self.enrol(model)
        share = np.where(children.preschool_other_care[rows], c.other_care_share, 1.0)
        share *= np.where(children.preschool_years[rows] > 0, c.second_year_share, 1.0)
        per_month = (quality * share / SCHOOL_MONTHS_PER_YEAR).astype(np.float32)
        children.preschool_years[rows] += 1
        self._rows = rows
        self._monthly = np.vstack([np.float32(c.reading_effect_sd) * per_month,
                                   np.float32(c.math_effect_sd) * per_month])

    def end_season(self, model: CityModel) -> None:
        super().end_season(model)
        self._rows = np.empty(0, dtype=np.int64)
        self._monthly = np.empty((2, 0), dtype=np.float32)
