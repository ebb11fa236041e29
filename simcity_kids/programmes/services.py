"""Services that meet one need (MODEL_SPEC 3.4): the shared mechanism of vision, behavioral health, food and housing.

Every month, children with the unmet need who are eligible apply (an aware family that takes up a slot within
reach, or an open referral, ``Programme.applicants``) and are placed with the service's providers, in waitlist
order, up to what is left of each provider's capacity for the school year: capacity counts children served per
year, so the providers' counts start again each September. Each placed child's need is met with chance
(provider quality x the service's resolution chance), through ``Needs.resolve``; the need may arise again later.

A child is served once a school year (a course of treatment, a pair of glasses, a grant): if the need is not met,
or comes back, the child applies again next year. A service that is a benefit held for the year (``ongoing``, food)
meets the need again in each month it is unmet. A family need belongs to the family: each of its children with the
need applies and holds a slot, the family's cost is shared between them, and once one of them is served the whole
family is served for the year (the others do not apply again).

Slots are bought once a year, in September: coverage x the eligible children with the need, beyond what the
providers offer anyway, at the cost per child (or per family, shared by its eligible children).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..core.calendar import AUGUST, SEPTEMBER
from ..core.params import param
from ..core.quota import largest_remainder
from .base import ELIGIBLE, Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel


class NeedServiceConfig(ProgrammeConfig):
    """The levers of a service; a subclass gives ``resolution_chance`` its sourced default."""

    resolution_chance: float = param(1.0, "chance that serving a child meets the need, at provider quality 1",
                                     "assumption: overridden by each service", ge=0, le=1)


class NeedService(Programme):
    """A programme that meets ``need`` through providers with a yearly capacity (infrastructure, not registered).

    Subclasses set ``need``, ``provider_types`` and the config; ``ongoing`` for a benefit held all year, and
    ``children_per_unit`` when the city buys whole units (clinicians) that each serve several children a year.
    """

    config: NeedServiceConfig
    ongoing: ClassVar[bool] = False

    def __init__(self, model: CityModel, config: NeedServiceConfig):
        super().__init__(model, config)
        self.family_need = model.needs.params.spec(self.need).level == "family"
        self.served_families = np.zeros(len(model.families), dtype=bool)  # this school year, for a family need
        self._had_need = np.zeros(0, dtype=bool)  # holders (children or families) with the need this school year
        self._rows = np.empty(0, dtype=np.int64)  # children served this school year (rows fixed until September)
        self._quality = np.empty(0)  # quality of the provider each was placed with
        self._band, self._band_version = np.zeros(0, dtype=bool), -1

    def children_per_unit(self) -> int:
        """Children one unit bought serves in a year (1: the city buys slots)."""
        return 1

    # --- who --------------------------------------------------------------------------------------------------
    def need_flags(self, model: CityModel) -> np.ndarray:
        """The unmet-need flags of the need's holders: the children, or the families for a family need."""
        return getattr(model.families if self.family_need else model.children, f"need_{self.need}")

    def in_band(self, model: CityModel) -> np.ndarray:
        """The age band and targeting (``Programme.eligible``), kept until the population changes each September;
        'need' targeting changes monthly, and adds nothing to a service, which serves only its need anyway."""
        if self.config.targeting == "need":
            return Programme.eligible(self, model)
        if self._band_version != model.population.version:
            self._band, self._band_version = Programme.eligible(self, model), model.population.version
        return self._band

    def eligible(self, model: CityModel) -> np.ndarray:
        """In the age band and targeting, with the need unmet, and not yet served this school year."""
        children = model.children
        unmet = self.need_flags(model)
        if self.family_need:
            unmet = (unmet & ~self.served_families)[children.family]
        return self.in_band(model) & unmet & ~getattr(children, self.enrolled)

    # --- the month --------------------------------------------------------------------------------------------
    def step(self, model: CityModel) -> None:
        if not self.providers and not self.funds_anything:
            return
        if model.calendar_month == SEPTEMBER:
            self.start_year(model)
        self._had_need |= self.need_flags(model)
        rows, quality = self.intake(model)
        if self.ongoing:
            rows, quality = self._rows, self._quality
        self.meet(model, rows, quality)
        if model.calendar_month == AUGUST:
            self.count_eligible(model)

    def start_year(self, model: CityModel) -> None:
        """A new school year: everyone leaves, the providers' counts start again, this year's slots are bought
        (when the scenario funds any: the providers' own slots need nothing bought)."""
        self.end_season(model)
        self.served_families[:] = False
        self._had_need = np.zeros(len(self.need_flags(model)), dtype=bool)
        self._rows, self._quality = np.empty(0, dtype=np.int64), np.empty(0)
        if self.funds_anything:
            self.buy_slots(model, self.eligible(model))

    def intake(self, model: CityModel) -> tuple[np.ndarray, np.ndarray]:
        """Place this month's applicants up to what is left of each provider's capacity for the year.

        Only children with room left at a provider they would try apply: once those are full for the year, the
        children wait for September (and the month costs nothing); ``count_eligible`` still counts them."""
        children = model.children
        free = np.array([p.capacity - p.enrolled for p in self.providers], dtype=np.int64)
        room = (free[self.tried_by_hood] > 0).any(axis=1)  # by neighborhood
        if not room.any():
            return np.empty(0, dtype=np.int64), np.empty(0)
        eligible = self.eligible(model)
        if not room.all():
            eligible &= room[children.neighborhood]
        rows, quality = self.enrol(model, eligible, free)
        self.record_served(model, rows, quality)
        return rows, quality

    def count_eligible(self, model: CityModel) -> None:
        """In August, for the year's reach: every child in the age band and targeting who had the need at some
        time this school year counts as eligible (also in months when nobody could apply)."""
        had = self._had_need[model.children.family] if self.family_need else self._had_need
        reach = getattr(model.children, self.reach)
        reach |= (self.in_band(model) & had).view(np.uint8) * np.uint8(ELIGIBLE)

    def record_served(self, model: CityModel, rows: np.ndarray, quality: np.ndarray) -> None:
        """Remember who was served this year (and their families, for a family need)."""
        self._rows = np.concatenate([self._rows, rows])
        self._quality = np.concatenate([self._quality, quality])
        if self.family_need:
            self.served_families[model.children.family[rows]] = True

    def meet(self, model: CityModel, rows: np.ndarray, quality: np.ndarray) -> None:
        """Meet the need of each of these children still in need with chance quality x resolution chance: one
        draw per child row, or per family row for a family need (siblings share it), from one stream a month."""
        owner = model.children.family[rows] if self.family_need else rows
        unmet = self.need_flags(model)[owner]
        if not unmet.any():
            return
        draw = model.streams.uniform(f"{self.name}.resolution", model.month, owner[unmet])
        chance = np.minimum(quality[unmet] * self.config.resolution_chance, 1.0)
        model.needs.resolve(model, self.need, rows[unmet][draw < chance], service=self.name)

    # --- funding ----------------------------------------------------------------------------------------------
    def fund(self, model: CityModel, n_eligible: int) -> None:
        """Nothing: ``enrol`` calls this every month, but a service buys its slots once a year (``buy_slots``)."""

    def buy_slots(self, model: CityModel, eligible: np.ndarray) -> None:
        """Buy the year's slots: coverage x eligible children with the need, beyond the providers' own, in whole
        units, spread over the providers in proportion to their own capacity."""
        per_unit = self.children_per_unit()
        base = sum(p.base_capacity for p in self.providers)
        wanted = self.config.coverage * self.phase(model.school_year) * np.count_nonzero(eligible) - base
        units = self.buy(model, wanted / per_unit, self.slot_cost(model, eligible) * per_unit)
        weights = np.array([max(p.base_capacity, 1) for p in self.providers], dtype=float)
        for provider, slots in zip(self.providers, largest_remainder(weights, units * per_unit)):
            provider.funded_slots = int(slots)

    def slot_cost(self, model: CityModel, eligible: np.ndarray) -> float:
        """USD per child slot: the configured cost, or for a family need the cost per family shared by the
        eligible children of a family."""
        cost = self.config.cost_per_slot_usd
        if not self.family_need or not eligible.any():
            return cost
        families = np.zeros(len(model.families), dtype=bool)
        families[model.children.family[eligible]] = True
        return cost * np.count_nonzero(families) / np.count_nonzero(eligible)

    def buy(self, model: CityModel, wanted: float, unit_cost_usd: float) -> int:
        """``funded_units``, but only whole units that what is left of this year's budget pays for (a programme
        may buy several things a year: screenings, then glasses)."""
        factor = model.cabinet.funding_factor
        if self.config.budget_usd is not None and unit_cost_usd > 0 and factor > 0:
            left = max(self.config.budget_usd - self.cost_usd.get(model.school_year, 0.0), 0.0)
            wanted = min(wanted, np.floor(left / (unit_cost_usd * model.child_weight) + 1e-9) / factor)
        return self.funded_units(model, wanted, unit_cost_usd)
