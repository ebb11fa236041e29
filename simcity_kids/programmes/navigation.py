"""Service navigation: an online guide to every youth programme (MODEL_SPEC section 4, EVIDENCE_PROGRAMMES.md 6).

Each September the city keeps the guide running and reaches ``coverage`` of the families with a child in the
age band (phased in); the families come in a fixed outreach order, drawn once, so last year's users keep the
guide as coverage grows. A family that uses the guide consults it in a month with a chance, and then knows of
every programme that is not run at school (``families.aware_<programme>``; the guide itself needs no word of
mouth). The guide also lowers its users' search cost: their take-up of an offered slot is multiplied by the
rise in enrolment that information alone gave in the SNAP experiment (``Awareness.raise_takeup``). Three
times a school year, the children of guide users who have an unmet need are referred to the programmes that meet it
(``referrals.py``), with less follow-up than a coordinator's: nobody checks back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.calendar import SEPTEMBER
from ..core.params import LEVER, param
from ..core.rng import geometric_months
from ..rules.needs import NEEDS
from . import register
from .base import APPLIED, ELIGIBLE, ENROLLED, REFER, Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel

# October, January and April: guide users look up help for their needs three times a school year (assumption; a
# monthly look would cost a referral draw per child, target and month).
REFERRAL_MONTHS = (10, 1, 4)


class NavigationConfig(ProgrammeConfig):
    coverage: float = param(0.0, "share of the families with a child in the age band who use the guide at full "
                            "phase-in", LEVER, ge=0, le=1)
    cost_per_slot_usd: float = param(
        5.0, "USD per family reached and year", "assumption: outreach through schools, texts and mailings; no "
        "cost per family of a guide was found", ge=0, le=10_000)
    fixed_cost_usd: float = param(
        250_000.0, "USD per year while the guide runs, on top of budget_usd", "assumption: a small team keeping "
        "every programme's listing current, and the site", ge=0, le=1e8)
    monthly_use: float = param(
        0.2, "chance a user family consults the guide in a month", "assumption: a few looks a year",
        ge=0, le=1)
    takeup_multiplier: float = param(
        1.83, "multiplier on a user family's chance to take up an offered slot",
        "EVIDENCE_PROGRAMMES.md section 6: Finkelstein & Notowidigdo 2019, SNAP enrolment 6% without "
        "information, 11% with information alone (x1.83), 18% with help applying (x3)", ge=1, le=5)
    follow_up: float = param(
        0.1, "added share of the guide's referrals that families complete", "assumption: less than a "
        "coordinator's 0.27 (success_plans.follow_up); a guide gives names and places but does not check back",
        ge=0, le=1)


@register
class Navigation(Programme):
    """An online guide to every youth programme: its users learn of every programme, take up offered slots
    more often, and are referred to the services that meet their children's unmet needs."""

    name = "navigation"
    config_class = NavigationConfig
    stage = REFER
    school_based = True  # no awareness of its own: the city's outreach decides who uses the guide
    config: NavigationConfig

    def __init__(self, model: CityModel, config: NavigationConfig):
        super().__init__(model, config)
        model.families.define("navigation_user", bool)
        self._outreach: np.ndarray | None = None  # families in outreach order (a random permutation, drawn once)
        self._looks = np.empty(0, dtype=np.int64)  # this year's user families, by the month of their first look
        self._looks_by_month = np.zeros(13, dtype=np.int64)  # where each month's first looks start in _looks
        self._users_children = np.zeros(0, dtype=bool)  # per child: of a user family this year (rows fixed to August)

    def step(self, model: CityModel) -> None:
        if not self.funds_anything:
            return
        if model.calendar_month == SEPTEMBER:
            self.reach_families(model)
        month = (model.calendar_month - SEPTEMBER) % 12
        looking = self._looks[self._looks_by_month[month]:self._looks_by_month[month + 1]]
        for programme in model.programmes:
            if not programme.school_based:
                getattr(model.families, f"aware_{programme.name}")[looking] = True
        if model.calendar_month in REFERRAL_MONTHS and self._looks.size:
            self.refer(model)

    def reach_families(self, model: CityModel) -> None:
        """September: the families the funded outreach reaches this year, first in the outreach order."""
        children, families = model.children, model.families
        eligible = self.eligible(model)
        # positions rather than a boolean mask: numpy takes them several times faster
        candidate = np.bincount(children.family[np.flatnonzero(eligible)], minlength=len(families)) > 0
        wanted = self.config.coverage * self.phase(model.school_year) * np.count_nonzero(candidate)
        reached = self.funded_units(model, wanted, self.config.cost_per_slot_usd)
        if reached:
            self.book_cost(model, self.config.fixed_cost_usd)
        if self._outreach is None:
            self._outreach = model.streams(f"{self.name}.outreach").permutation(len(families))
        families.navigation_user = False
        families.navigation_user[self._outreach[np.flatnonzero(candidate[self._outreach])[:reached]]] = True
        users = np.flatnonzero(families.navigation_user)
        self.schedule_looks(model, users)
        multiplier = np.ones(len(families), dtype=np.float32)
        multiplier[users] = self.config.takeup_multiplier
        model.awareness.raise_takeup(model, multiplier)
        self._users_children = families.navigation_user.take(children.family)  # [] would convert int32 positions
        reach = getattr(children, self.reach)
        reach |= eligible.view(np.uint8) * np.uint8(ELIGIBLE)
        reach |= (eligible & self._users_children).view(np.uint8) * np.uint8(APPLIED | ENROLLED)

    def schedule_looks(self, model: CityModel, users: np.ndarray) -> None:
        """The month of the school year in which each user family first consults the guide, looking each month
        with chance ``monthly_use``: geometric, from one draw per family (12: not this school year). Awareness once
        gained stays, so later looks would add nothing."""
        draw = model.streams.uniform(f"{self.name}.use", model.month, users)
        first = np.minimum(geometric_months(draw, self.config.monthly_use) - 1, 12).astype(np.int8)
        order = np.argsort(first, kind="stable")  # small integers: numpy's stable sort is a radix sort
        self._looks = users[order]
        self._looks_by_month = np.searchsorted(first[order], np.arange(13))

    def refer(self, model: CityModel) -> None:
        """Children of user families with an unmet need, to every programme that meets it."""
        in_need = np.flatnonzero(self._users_children & (model.needs.unmet_count(model) > 0))  # any unmet need
        for target in model.programmes:
            if target.need in NEEDS:
                unmet = model.needs.unmet(model, target.need, in_need)
                model.referrals.refer_unserved(model, target.name, in_need[np.flatnonzero(unmet)], self.name,
                                               self.config.follow_up)

    def record_year(self, model: CityModel) -> None:
        """In August, besides the reach: the families using the guide (whole city)."""
        if self.funds_anything:
            model.outcomes.add_value(model, "navigation_families_reached", "programme", self.name,
                                     self._looks.size * model.child_weight)
        super().record_year(model)
