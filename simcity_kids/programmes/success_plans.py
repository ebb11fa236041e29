"""Individualized success plans for K-8 pupils (City Connects; MODEL_SPEC section 4, EVIDENCE_PROGRAMMES.md 7).

Each September, once pupils have their school places, the plans' staff review every child on their caseload:
coordinators the city funds (coverage x eligible pupils / caseload of them), or, with ``staffing = "counselors"``,
the schools' own counselors retrained to carry plans, as many as those schools have. The children they can
carry are taken in waitlist order. A review finds each of the child's needs with a chance, and refers each need
found to the programmes that meet it (``referrals.py``), which place the child near the family: a health or
family need to the programmes whose ``need`` it is, a pupil below grade level to after-school and homework
help, an economically disadvantaged pupil without a summer or after-school place to that programme. A
programme the scenario does not have is skipped. Each January and April the staff follow up: a need found that
is still unmet, and whose referral the family did not take up, is referred again. A coordinator's checking
also raises the share of referrals families complete (``follow_up``); counselors, who keep their other duties,
find fewer needs and check back less.

A plan adds nothing to scores by itself: it acts through the services it brings children to (no effect of City
Connects in SD was found, EVIDENCE_PROGRAMMES.md 'Not found'). Plans last for the school year.
"""

from __future__ import annotations

from math import ceil
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..core.allocation import priority_order
from ..core.calendar import SEPTEMBER
from ..core.params import LEVER, param
from ..rules.needs import NEEDS
from . import register
from .base import APPLIED, ELIGIBLE, ENROLLED, REFER, WAITED, Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel

# September: pupils have their school places (population turnover runs first in the month) and programmes that
# refer run before the services, so referrals reach the after-school seats allocated this month.
REVIEW_MONTH = SEPTEMBER
FOLLOW_UP_MONTHS = (1, 4)  # January and April
# What a review looks for, one bit each: the needs of rules/needs.py, then what a pupil lacks.
BELOW_GRADE_LEVEL, NO_SUMMER_PLACE, NO_AFTER_SCHOOL_PLACE = "academic_support", "summer_place", "after_school_place"
FINDINGS: tuple[str, ...] = (*NEEDS, BELOW_GRADE_LEVEL, NO_SUMMER_PLACE, NO_AFTER_SCHOOL_PLACE)
BIT = {finding: np.uint8(1 << i) for i, finding in enumerate(FINDINGS)}
# Programmes that meet what is not a need of rules/needs.py: homework help, and the places themselves.
TARGETS = {BELOW_GRADE_LEVEL: "after_school", NO_SUMMER_PLACE: "summer", NO_AFTER_SCHOOL_PLACE: "after_school"}


class SuccessPlansConfig(ProgrammeConfig):
    coverage: float = param(0.0, "share of the eligible pupils on a plan at full phase-in", LEVER, ge=0, le=1)
    min_age: int = param(5, "years", "MODEL_SPEC section 4: every K-8 child (kindergarten at 5)", ge=0, le=17)
    max_age: int = param(13, "years", "MODEL_SPEC section 4: every K-8 child (grade 8 at 13)", ge=0, le=17)
    staffing: Literal["coordinators", "counselors"] = param(
        "coordinators", "who carries the plans: coordinators the city funds (City Connects), or the schools' "
        "counselors retrained to carry them (cheaper, fewer needs found, less follow-up)", LEVER)
    caseload: int = param(318, "pupils per coordinator", "EVIDENCE_PROGRAMMES.md section 7: City Connects "
                          "2018-19, 26,045 students / 82 coordinators = about 318 (D row)", ge=1, le=5_000)
    cost_per_slot_usd: float = param(
        762.0, "USD per pupil on a coordinator's caseload and school year", "EVIDENCE_PROGRAMMES.md section 7: "
        "Bowden et al. 2015, $4,570 per student over 6 years = about $762 a year (D row), community services "
        "included", ge=0, le=100_000)
    detection: float = param(
        0.8, "chance a coordinator's review finds a need the child has", "assumption: City Connects reviews "
        "every pupil with the teacher each year (EVIDENCE_PROGRAMMES.md section 7); no rate was found", ge=0, le=1)
    follow_up: float = param(
        0.27, "added share of a coordinator's referrals that families complete", "EVIDENCE_PROGRAMMES.md "
        "section 6: 82% of 2-1-1 callers reached the referred service (Boyum et al. 2016) against 55% without "
        "help (cabinet.referral_completion); assumption: a coordinator who checks back does as well", ge=0, le=1)
    counselor_caseload: int = param(
        150, "pupils per counselor carrying plans", "assumption: about half a coordinator's 318 "
        "(EVIDENCE_PROGRAMMES.md section 7), since counselors keep their other duties", ge=1, le=5_000)
    counselor_cost_usd: float = param(
        295.0, "USD per pupil on a counselor's caseload and school year", "EVIDENCE_PROGRAMMES.md section 7: "
        "WSIPP 829, Communities In Schools about $295 per participant (D row), a lighter school-staffed model, "
        "taken as the cost of counselors' training and time", ge=0, le=100_000)
    counselor_detection: float = param(
        0.5, "chance a counselor's review finds a need the child has", "assumption: a shorter review than a "
        "coordinator's, beside a counselor's other duties", ge=0, le=1)
    counselor_follow_up: float = param(
        0.1, "added share of a counselor's referrals that families complete", "assumption: counselors check back "
        "less than coordinators; Communities In Schools case management brought more services but no effect on "
        "outcomes (Parise et al. 2017, EVIDENCE_PROGRAMMES.md section 7)", ge=0, le=1)


@register
class SuccessPlans(Programme):
    """Individualized success plans for K-8 pupils (City Connects): a yearly review of every pupil on a
    caseload, referrals to the services that meet what it finds, and follow-up; staff x caseload is the reach."""

    name = "success_plans"
    config_class = SuccessPlansConfig
    stage = REFER
    school_based = True
    config: SuccessPlansConfig

    def __init__(self, model: CityModel, config: SuccessPlansConfig):
        super().__init__(model, config)
        model.children.define("success_plan_found", np.uint8)  # FINDINGS bits the review found this year

    @property
    def enrolled(self) -> str:
        """Children on a plan this school year (``children.success_plan``)."""
        return "success_plan"

    @property
    def staff(self) -> tuple[int, float, float, float]:
        """Caseload, cost per pupil, detection and follow-up of the chosen staffing."""
        c = self.config
        if c.staffing == "coordinators":
            return c.caseload, c.cost_per_slot_usd, c.detection, c.follow_up
        return c.counselor_caseload, c.counselor_cost_usd, c.counselor_detection, c.counselor_follow_up

    def step(self, model: CityModel) -> None:
        if not self.funds_anything:
            return
        if model.calendar_month == REVIEW_MONTH:
            self.review(model)
        elif model.calendar_month in FOLLOW_UP_MONTHS:
            rows = np.flatnonzero(model.children.success_plan_found > 0)  # pupils on a plan with anything found
            still = model.children.success_plan_found[rows] & self.findings(model, rows)
            self.refer(model, rows, still)

    def caseloads(self, model: CityModel, eligible: np.ndarray) -> tuple[int, int]:
        """Pupils the scenario wants on a plan this year (coverage x eligible), and those the staff it funds
        can carry (staff x caseload, at most the wanted)."""
        caseload, cost, _, _ = self.staff
        wanted = self.config.coverage * self.phase(model.school_year) * eligible.size
        staff = ceil(wanted / caseload)
        if self.config.staffing == "counselors":  # only the counselors of these pupils' schools
            schools = np.unique(model.children.school[eligible])
            counselors = sum(model.city.schools[s].counselors for s in schools[schools >= 0])
            staff = min(staff, counselors / model.child_weight)
        carried = self.funded_units(model, staff, caseload * cost) * caseload
        return round(wanted), min(carried, round(wanted))

    def review(self, model: CityModel) -> None:
        """September: choose this year's caseload in waitlist order (the wanted pupils beyond it are turned away),
        look for each child's needs and refer what is found."""
        children = model.children
        is_eligible = self.eligible(model)
        eligible = np.flatnonzero(is_eligible)
        wanted, plans = self.caseloads(model, eligible)
        order = eligible
        if plans < eligible.size:
            order = eligible[priority_order(self.priority(model, eligible))]
        children.success_plan[order[:plans]] = True  # no plans before: they end each August
        chosen = np.flatnonzero(children.success_plan)
        reach = getattr(children, self.reach)
        reach |= is_eligible.view(np.uint8) * np.uint8(ELIGIBLE)
        reach |= children.success_plan.view(np.uint8) * np.uint8(APPLIED | ENROLLED)
        reach[order[plans:wanted]] |= np.uint8(APPLIED | WAITED)
        present = self.findings(model, chosen)
        found = np.zeros(chosen.size, dtype=np.uint8)
        for finding in FINDINGS:  # one detection draw for each child who has the finding
            has = np.flatnonzero((present & BIT[finding]) > 0)
            draw = model.streams.uniform(f"{self.name}.detect.{finding}", model.month, chosen[has])
            found[has[draw < self.staff[2]]] |= BIT[finding]
        children.success_plan_found[chosen] = found
        self.refer(model, chosen, found)

    def findings(self, model: CityModel, children_idx: np.ndarray) -> np.ndarray:
        """What these children have now, as FINDINGS bits: unmet needs, below grade level, and (economically
        disadvantaged pupils) the need of a place in a summer or after-school programme the scenario has; a child
        with a place is not referred to it (``Referrals.refer_unserved``)."""
        children = model.children
        bits = np.zeros(children_idx.size, dtype=np.uint8)
        for need in NEEDS:
            bits |= model.needs.unmet(model, need, children_idx).view(np.uint8) * BIT[need]
        below = np.minimum(children.reading[children_idx], children.math[children_idx]) < self.below_grade_level
        bits |= below.view(np.uint8) * BIT[BELOW_GRADE_LEVEL]
        names = {p.name for p in model.programmes}
        disadvantaged = children.disadvantaged[children_idx].view(np.uint8)
        for finding in (NO_SUMMER_PLACE, NO_AFTER_SCHOOL_PLACE):
            if TARGETS[finding] in names:
                bits |= disadvantaged * BIT[finding]
        return bits

    def refer(self, model: CityModel, children_idx: np.ndarray, found: np.ndarray) -> None:
        """Refer each child to every programme that meets something found (``found``: FINDINGS bits)."""
        follow_up = self.staff[3]
        for target in model.programmes:
            meets = [f for f in NEEDS if f == target.need] + [f for f, name in TARGETS.items() if name == target.name]
            mask = np.uint8(sum(BIT[f] for f in meets))
            if mask:
                model.referrals.refer_unserved(model, target.name, children_idx[np.flatnonzero((found & mask) > 0)],
                                               self.name, follow_up)

    def record_year(self, model: CityModel) -> None:
        """In August, besides the reach: pupils on a plan with anything found and with a need found that is
        still unmet, by group; pupils with each finding, for the whole city; then the plans end."""
        children = model.children
        if self.funds_anything:
            rows = np.flatnonzero(children.success_plan_found > 0)
            found = children.success_plan_found[rows]
            needs = np.uint8(sum(BIT[n] for n in NEEDS))
            still = np.zeros(len(children), dtype=bool)
            still[rows] = (found & self.findings(model, rows) & needs) > 0
            model.outcomes.count_many(model, {"success_plan_needs_found": children.success_plan_found > 0,
                                              "success_plan_needs_still_unmet": still})
            for finding in FINDINGS:
                model.outcomes.add_value(model, f"success_plan_found_{finding}", "programme", self.name,
                                         np.count_nonzero(found & BIT[finding]) * model.child_weight)
        super().record_year(model)
        children.success_plan = False
        children.success_plan_found = 0
