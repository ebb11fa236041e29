"""The one interface every intervention plugs into (MODEL_SPEC section 4).

A programme says who is eligible (age band and targeting), how many slots the city funds (coverage,
start year, phase-in, the cabinet's funding), who of the eligible applies (awareness and travel time),
who gets a slot first (the waitlist order), what a slot does (the subclass's effect) and what it costs.
Subclasses add their season and their effect; the rest is here, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

from pydantic import model_validator

from ..params import Params, param
from ..validation import ConfigError, InvalidAt
from ..quota import largest_remainder
from .allocation import allocate

if TYPE_CHECKING:
    from ..model import CityModel

LEVER = "scenario lever"
MAX_CHOICES = 3


class ProgrammeConfig(Params):
    coverage: float = param(0.0, "share of eligible children with a slot (existing plus city-funded) at "
                            "full phase-in; 0 leaves only the slots providers offer anyway", LEVER, ge=0, le=1)
    start_year: int = param(0, "school year of the run in which city funding starts (0 = first)", LEVER,
                            ge=0, le=50)
    phase_in_years: int = param(1, "years until full coverage", LEVER, ge=1, le=20)
    targeting: Literal["universal", "income", "need", "neighborhoods"] = param(
        "universal", "who is eligible: everyone in the age band, economically disadvantaged families, children "
        "with an unmet need or below grade level, or the listed neighborhoods", LEVER)
    neighborhoods: tuple[str, ...] = param((), "neighborhood names, with targeting = 'neighborhoods'", LEVER)
    waitlist_order: Literal["lottery", "lowest_income", "highest_need"] = param(
        "lottery", "who is offered a slot first when demand exceeds capacity", LEVER)
    min_age: int = param(0, "years", LEVER, ge=0, le=17)
    max_age: int = param(17, "years", LEVER, ge=0, le=17)
    cost_per_slot_usd: float = param(0.0, "USD per funded slot-year", LEVER, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _consistent(self) -> ProgrammeConfig:
        """Checks across keys that the city is not needed for (its neighborhood names are checked at the run)."""
        if self.min_age > self.max_age:
            raise InvalidAt("min_age", f"must not exceed max_age {self.max_age} (got {self.min_age})")
        if self.targeting == "neighborhoods" and not self.neighborhoods:
            raise InvalidAt("neighborhoods", "targeting = 'neighborhoods' needs at least one neighborhood name "
                            "(got none)")
        if self.neighborhoods and self.targeting != "neighborhoods":
            raise InvalidAt("neighborhoods", f"only used with targeting = 'neighborhoods' (targeting is "
                            f"'{self.targeting}'); remove the list or change targeting")
        return self


class Programme:
    """Eligibility, funding, take-up, waitlist and costs of one intervention; subclasses add the effect."""

    name: ClassVar[str]
    provider_type: ClassVar[str]
    below_grade_level: ClassVar[float] = -1.0  # SD: counts as a need for 'need' targeting (assumption)

    def __init__(self, model: CityModel, config: ProgrammeConfig):
        self.config = config
        self.providers = [p for p in model.providers if p.type == self.provider_type]
        unknown = sorted(set(config.neighborhoods) - {n.name for n in model.city.neighborhoods})
        if unknown:
            raise ConfigError(model.config_source, f"programmes.{self.name}.neighborhoods",
                              f"unknown neighborhood(s) {unknown} in {model.city.name}; allowed: "
                              f"{[n.name for n in model.city.neighborhoods]}")
        if config.coverage > 0 and not self.providers:
            raise ConfigError(model.config_source, f"programmes.{self.name}.coverage",
                              f"{model.city.name} has no provider of type '{self.provider_type}' to fund")
        minutes = model.travel_minutes[:, [p.neighborhood for p in self.providers]]
        rounds = min(MAX_CHOICES, len(self.providers))
        order = np.argsort(minutes, axis=1, kind="stable")[:, :rounds]
        self.choices_by_hood = order  # provider positions, nearest first, for each neighborhood
        self.nearest_minutes = np.take_along_axis(minutes, order[:, :1], axis=1)[:, 0] if rounds else None
        self.cost_usd: dict[int, float] = {}
        self.enrolled_count: dict[int, int] = {}
        model.children.define(f"enrolled_{self.name}", bool)
        model.awareness.initialize(model, self.name)

    @property
    def enrolled(self) -> str:
        return f"enrolled_{self.name}"

    def eligible(self, model: CityModel) -> np.ndarray:
        children, c = model.children, self.config
        mask = (children.age >= c.min_age) & (children.age <= c.max_age)
        if c.targeting == "income":
            mask &= children.disadvantaged
        elif c.targeting == "need":
            mask &= (model.needs.unmet_count(model) > 0) | (
                np.minimum(children.reading, children.math) < self.below_grade_level)
        elif c.targeting == "neighborhoods":
            wanted = [model.city.neighborhood_index(n) for n in c.neighborhoods]
            mask &= np.isin(children.neighborhood, wanted)
        return mask

    def phase(self, year: int) -> float:
        """Share of full coverage reached in school year ``year``."""
        c = self.config
        return float(np.clip((year - c.start_year + 1) / c.phase_in_years, 0.0, 1.0))

    def fund(self, model: CityModel, n_eligible: int) -> None:
        """Buy the slots this year's coverage needs beyond what providers offer, and book their cost."""
        base = sum(p.base_capacity for p in self.providers)  # in simulated slots, like n_eligible
        wanted = self.config.coverage * self.phase(model.school_year) * n_eligible
        funded = int(round(max(0.0, wanted - base) * model.cabinet.funding_factor))
        weights = np.array([max(p.base_capacity, 1) for p in self.providers], dtype=float)
        for provider, slots in zip(self.providers, largest_remainder(weights, funded)):
            provider.funded_slots = int(slots)
        cost = funded * model.child_weight * self.config.cost_per_slot_usd
        self.cost_usd[model.school_year] = self.cost_usd.get(model.school_year, 0.0) + cost
        model.cabinet.budget_usd[self.name] = cost

    def enrol(self, model: CityModel) -> tuple[np.ndarray, np.ndarray]:
        """Fund, take applications and fill slots in waitlist order.

        Returns the enrolled children's indices and the quality of the provider each was placed with.
        """
        children, families = model.children, model.families
        eligible = self.eligible(model)
        self.fund(model, int(eligible.sum()))
        if not self.providers:
            return np.empty(0, dtype=np.int64), np.empty(0)
        hood = children.neighborhood
        aware = getattr(families, f"aware_{self.name}")[children.family]
        draw = model.streams(f"{self.name}.takeup", model.month).random(len(children))
        applies = eligible & aware & (draw < model.awareness.takeup_probability(model, self.nearest_minutes[hood]))
        applicants = np.flatnonzero(applies)
        capacity = np.array([p.capacity for p in self.providers])
        placed = allocate(self.choices_by_hood[hood[applicants]], self.priority(model, applicants), capacity)
        enrolled = applicants[placed >= 0]
        getattr(children, self.enrolled)[:] = False
        getattr(children, self.enrolled)[enrolled] = True
        counts = np.bincount(placed[placed >= 0], minlength=len(self.providers))
        for provider, count in zip(self.providers, counts):
            provider.enrolled = int(count)
        waitlisted = np.zeros(len(children), dtype=bool)
        waitlisted[applicants[placed < 0]] = True
        outcomes = model.outcomes
        outcomes.count(model, f"{self.name}_eligible", eligible)
        outcomes.count(model, f"{self.name}_enrolled", getattr(children, self.enrolled))
        outcomes.count(model, f"{self.name}_waitlisted", waitlisted)
        outcomes.count(model, f"{self.name}_declined", eligible & ~applies)
        self.enrolled_count[model.school_year] = self.enrolled_count.get(model.school_year, 0) + enrolled.size
        quality = np.array([p.quality for p in self.providers])
        return enrolled, quality[placed[placed >= 0]]

    def end_season(self) -> None:
        for provider in self.providers:
            provider.enrolled = 0

    def priority(self, model: CityModel, applicants: np.ndarray) -> np.ndarray:
        """Waitlist key (lower first): a lottery, lowest income first, or most needs first."""
        tie_break = model.streams(f"{self.name}.lottery", model.month).random(len(model.children))[applicants]
        order = self.config.waitlist_order
        if order == "lowest_income":
            return model.children.income_z[applicants] + 1e-3 * tie_break
        if order == "highest_need":
            children = model.children
            below = np.minimum(children.reading, children.math)[applicants] < self.below_grade_level
            return -(model.needs.unmet_count(model)[applicants] + below) + 0.5 * tie_break
        return tie_break

    def step(self, model: CityModel) -> None:
        raise NotImplementedError

