"""The one interface every intervention plugs into (MODEL_SPEC section 4).

A programme says who is eligible (age band and targeting), how many slots the city funds (coverage, budget,
start year, phase-in, the cabinet's funding), who of the eligible applies (awareness and travel time, or a
referral), who gets a slot first (the waitlist order, referred children first within a priority tier), what a
slot does (the subclass's effect, through the model's mechanisms) and what it costs. It also records its reach
each year. Subclasses add their season and their effect; the rest is here, once.

Zero coverage, zero budget or zero capacity funds nothing, so the run is the baseline's: a programme draws only
from its own named streams, and the slots providers offer anyway serve children in the baseline too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import model_validator
from scipy.special import bdtr

from ..core.allocation import allocate
from ..core.params import LEVER, Params, param
from ..core.quota import largest_remainder
from ..core.validation import ConfigError, InvalidAt

if TYPE_CHECKING:
    from ..city.institutions import Provider
    from ..model import CityModel

MAX_CHOICES = 3  # nearest providers a family tries, one allocation round each (assumption)
# Stages order the programmes within a month: referrals are made before the services that receive them.
REFER, SERVE = 10, 20
# Reach bits per child and school year, recorded in August (``Outcomes.record_programmes``).
ELIGIBLE, APPLIED, WAITED, ENROLLED = 1, 2, 4, 8
NEED = 16  # in the August count only: the eligible child's need is still unmet


class ProgrammeConfig(Params):
    """The levers every programme has. Subclasses override defaults (with their sources) and add their own."""

    coverage: float = param(0.0, "share of eligible children with a slot (existing plus city-funded) at "
                            "full phase-in; 0 leaves only the slots providers offer anyway", LEVER, ge=0, le=1)
    budget_usd: float | None = param(None, "USD per school year at most for new slots; none: what coverage "
                                     "needs", LEVER, ge=0, le=1e11)
    start_year: int = param(0, "school year of the run in which city funding starts (0 = first)", LEVER,
                            ge=0, le=50)
    phase_in_years: int = param(1, "years until full coverage", LEVER, ge=1, le=20)
    targeting: Literal["universal", "income", "need", "neighborhoods", "schools"] = param(
        "universal", "who is eligible: everyone in the age band, economically disadvantaged families, children "
        "with the programme's need (any unmet need or below grade level for general programmes), the listed "
        "neighborhoods, or the pupils of the listed schools", LEVER)
    neighborhoods: tuple[str, ...] = param((), "neighborhood names, with targeting = 'neighborhoods'", LEVER)
    schools: tuple[str, ...] = param((), "school names, with targeting = 'schools'", LEVER)
    waitlist_order: Literal["lottery", "lowest_income", "highest_need"] = param(
        "lottery", "priority tiers when demand exceeds capacity: one tier (lottery), income quintile (lowest "
        "first, then lowest income), or unmet needs (most first); referred children go first within a tier",
        LEVER)
    min_age: int = param(0, "years", LEVER, ge=0, le=17)
    max_age: int = param(17, "years", LEVER, ge=0, le=17)
    cost_per_slot_usd: float = param(0.0, "USD per funded slot-year", LEVER, ge=0, le=1_000_000)
    english_support: float = param(0.0, "extra speed of English acquisition while enrolled, as a share of the "
                                   "learner's own (rules/english.py)", LEVER, ge=0, le=5)

    @model_validator(mode="after")
    def _consistent(self) -> ProgrammeConfig:
        """Checks across keys that the city is not needed for (names are checked against the city at the run)."""
        if self.min_age > self.max_age:
            raise InvalidAt("min_age", f"must not exceed max_age {self.max_age} (got {self.min_age})")
        for kind in ("neighborhoods", "schools"):
            listed = getattr(self, kind)
            if self.targeting == kind and not listed:
                raise InvalidAt(kind, f"targeting = '{kind}' needs at least one name (got none)")
            if listed and self.targeting != kind:
                raise InvalidAt(kind, f"only used with targeting = '{kind}' (targeting is '{self.targeting}'); "
                                "remove the list or change targeting")
        return self


class DaysAttended:
    """Days an enrolled child attends of ``offered``, each with ``probability``: Binomial(offered, probability),
    drawn from one uniform per child by the inverse CDF (common random numbers, ``Streams.uniform``)."""

    def __init__(self, offered: int, probability: float):
        self.cdf = bdtr(np.arange(offered), offered, probability)  # the binomial CDF at 0 ... offered - 1

    def draw(self, model: CityModel, stream: str, rows: np.ndarray) -> np.ndarray:
        """Days attended by each of ``rows`` (children), from the stream ``stream`` of this month."""
        draw = model.streams.uniform(stream, model.month, rows)
        days = np.zeros(draw.size, dtype=np.int16)
        for below in self.cdf:  # days = how many CDF values lie at or below the draw (a few dozen passes at most:
            days += draw >= below  # several times faster than a binary search per child)
        return days


def choice_table(minutes: np.ndarray, rounds: int) -> tuple[np.ndarray, np.ndarray]:
    """For each neighborhood, the providers its families try, nearest first, when equally near ones are shared out
    by family (as schools are): (hoods, ties, rounds) provider positions, where family f of a neighborhood with k
    equally nearest providers uses row f mod k, which starts at the (f mod k)-th of them; and k per neighborhood."""
    hoods, providers = minutes.shape
    order = np.argsort(minutes, axis=1, kind="stable")
    ties = np.maximum((minutes == minutes.min(axis=1, keepdims=True, initial=np.inf)).sum(axis=1), 1).astype(np.int32)
    table = np.zeros((hoods, int(ties.max()), rounds), dtype=np.int32)
    for hood in range(hoods):  # a few dozen neighborhoods: once, when the programme is built
        tied, rest = order[hood, :ties[hood]], order[hood, ties[hood]:]
        for shift in range(table.shape[1]):
            table[hood, shift] = np.concatenate([np.roll(tied, -(shift % ties[hood])), rest])[:rounds]
    return table, ties


class Programme:
    """Eligibility, funding, take-up, waitlist, reach and costs of one intervention; subclasses add the effect.

    Class attributes a subclass sets: ``name`` (its scenario section ``[programmes.<name>]``), ``config_class``,
    ``provider_types`` (the city's providers it places children with and funds; empty for programmes the city
    staffs itself), ``stage`` (``REFER`` or ``SERVE``), ``need`` (the need it meets, if any) and
    ``school_based`` (children are served at school: no travel, no awareness needed).
    """

    name: ClassVar[str]
    config_class: ClassVar[type[ProgrammeConfig]]
    provider_types: ClassVar[tuple[str, ...]] = ()
    stage: ClassVar[int] = SERVE
    need: ClassVar[str | None] = None
    school_based: ClassVar[bool] = False
    below_grade_level: ClassVar[float] = -1.0  # SD: counts as a need for 'need' targeting (assumption)

    def __init__(self, model: CityModel, config: ProgrammeConfig):
        self.config = config
        self.providers: list[Provider] = [p for p in model.providers if p.type in self.provider_types]
        self._check_names(model)
        if self.provider_types and self.funds_anything and not self.providers:
            raise ConfigError(model.config_source, f"programmes.{self.name}.coverage",
                              f"{model.city.name} has no provider of type {' or '.join(self.provider_types)} "
                              "to fund; add one to the city profile or set coverage = 0")
        minutes = model.travel_minutes[:, [p.neighborhood for p in self.providers]]
        self._choice_table, self._ties = choice_table(minutes, min(MAX_CHOICES, len(self.providers)))
        hoods = len(model.city.neighborhoods)
        self.tried_by_hood = self._choice_table.reshape(hoods, -1)  # every provider a family of the hood may try
        self.nearest_minutes = (minutes.min(axis=1) if self.providers else np.zeros(hoods, dtype=np.float32))
        self.cost_usd: dict[int, float] = {}
        model.children.define(self.enrolled, bool)
        model.children.define(self.referred, bool)
        model.children.define(self.reach, np.uint8)
        if not self.school_based:
            model.awareness.initialize(model, self.name)

    # --- names --------------------------------------------------------------------------------------------
    @property
    def enrolled(self) -> str:
        """Name of the child array flagging current enrolment."""
        return f"enrolled_{self.name}"

    @property
    def referred(self) -> str:
        """Name of the child array flagging an open referral to this programme (``referrals.py``)."""
        return f"referred_{self.name}"

    @property
    def reach(self) -> str:
        """Name of the child array of this school year's reach bits (ELIGIBLE, APPLIED, WAITED, ENROLLED)."""
        return f"reach_{self.name}"

    @property
    def funds_anything(self) -> bool:
        """Whether the scenario buys anything: positive coverage and a budget that is not zero."""
        return self.config.coverage > 0 and self.config.budget_usd != 0

    def _check_names(self, model: CityModel) -> None:
        c = self.config
        for kind, known in (("neighborhoods", [n.name for n in model.city.neighborhoods]),
                            ("schools", [s.name for s in model.schools])):
            unknown = sorted(set(getattr(c, kind)) - set(known))
            if unknown:
                raise ConfigError(model.config_source, f"programmes.{self.name}.{kind}",
                                  f"unknown {kind[:-1]}(s) {unknown} in {model.city.name}; allowed: {known}")

    # --- who --------------------------------------------------------------------------------------------------
    def in_need(self, model: CityModel, rows: np.ndarray | None = None) -> np.ndarray:
        """Children (every child, or these ``rows``) with the programme's need: any unmet need or below grade level
        if it has none."""
        if self.need is not None:
            return model.needs.unmet(model, self.need, rows)
        children, rows = model.children, slice(None) if rows is None else rows
        return (model.needs.unmet_count(model)[rows] > 0) | (np.minimum(children.reading[rows], children.math[rows])
                                                             < self.below_grade_level)

    def eligible(self, model: CityModel) -> np.ndarray:
        children, c = model.children, self.config
        mask = (children.age >= c.min_age) & (children.age <= c.max_age)
        if c.targeting == "income":
            mask &= children.disadvantaged
        elif c.targeting == "need":
            mask &= self.in_need(model)
        elif c.targeting == "neighborhoods":
            mask &= np.isin(children.neighborhood, [model.city.neighborhood_index(n) for n in c.neighborhoods])
        elif c.targeting == "schools":
            names = [s.name for s in model.schools]
            mask &= np.isin(children.school, [names.index(s) for s in c.schools])
        return mask

    # --- how many ---------------------------------------------------------------------------------------------
    def phase(self, year: int) -> float:
        """Share of full coverage reached in school year ``year``."""
        c = self.config
        return float(np.clip((year - c.start_year + 1) / c.phase_in_years, 0.0, 1.0))

    def funded_units(self, model: CityModel, wanted: float, unit_cost_usd: float) -> int:
        """Units (simulated slots, coordinators, mentors...) the city buys this year: ``wanted`` at full funding,
        scaled by the cabinet's funding after elections and capped by the budget; their cost is booked."""
        if not self.funds_anything:
            return 0
        units = max(0.0, wanted)
        if self.config.budget_usd is not None and unit_cost_usd > 0:
            units = min(units, self.config.budget_usd / (unit_cost_usd * model.child_weight))
        units = int(round(units * model.cabinet.funding_factor))  # an election cuts the budget too
        self.book_cost(model, units * model.child_weight * unit_cost_usd)
        return units

    def book_cost(self, model: CityModel, usd: float) -> None:
        self.cost_usd[model.school_year] = self.cost_usd.get(model.school_year, 0.0) + usd
        model.cabinet.budget_usd[self.name] = self.cost_usd[model.school_year]

    def fund(self, model: CityModel, n_eligible: int) -> None:
        """Buy the slots this year's coverage needs beyond what providers offer, spread over the providers."""
        base = sum(p.base_capacity for p in self.providers)  # in simulated slots, like n_eligible
        wanted = self.config.coverage * self.phase(model.school_year) * n_eligible - base
        funded = self.funded_units(model, wanted, self.config.cost_per_slot_usd)
        weights = np.array([max(p.base_capacity, 1) for p in self.providers], dtype=float)
        for provider, slots in zip(self.providers, largest_remainder(weights, funded)):
            provider.funded_slots = int(slots)

    # --- who gets a slot --------------------------------------------------------------------------------------
    def choices(self, model: CityModel, rows: np.ndarray) -> np.ndarray:
        """The providers these children's families try, nearest first: (rows, rounds) provider positions."""
        children = model.children
        hood = children.neighborhood[rows]
        hoods, width, rounds = self._choice_table.shape
        row = hood.astype(np.int32) * width + children.family[rows] % self._ties[hood]  # 32-bit: half the traffic
        return self._choice_table.reshape(hoods * width, rounds)[row]

    def applicants(self, model: CityModel, eligible: np.ndarray) -> np.ndarray:
        """Eligible children whose family applies: a referral that was followed up, or (at school, or when the
        family knows of the programme) a take-up draw that falls with travel time."""
        children = model.children
        rows = np.flatnonzero(eligible)
        stream = f"{self.name}.takeup"
        if self.school_based:
            draw = model.streams.uniform(stream, model.month, rows)
            applies = draw < model.awareness.takeup_probability(model, np.zeros(1, dtype=np.float32))[0]
        else:  # only aware families draw: a row's draw is its own (``Streams.uniform``), whoever else draws
            aware = np.flatnonzero(getattr(model.families, f"aware_{self.name}")[children.family[rows]])
            draw = model.streams.uniform(stream, model.month, rows[aware])
            applies = np.zeros(rows.size, dtype=bool)
            applies[aware] = draw < model.awareness.takeup_by_child(model, self.nearest_minutes, rows[aware])
        return rows[applies | getattr(children, self.referred)[rows]]

    def enrol(self, model: CityModel, eligible: np.ndarray | None = None,
              capacity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Fund, take applications and fill slots in waitlist order; the placed children's referrals close.

        ``capacity`` (free slots per provider) defaults to each provider's capacity. Returns the enrolled
        children's indices and the quality of the provider each was placed with (1 without providers).
        """
        children = model.children
        if eligible is None:
            eligible = self.eligible(model)
        self.fund(model, int(eligible.sum()))
        reach = getattr(children, self.reach)
        reach |= eligible.view(np.uint8) * np.uint8(ELIGIBLE)
        if not self.providers:
            return np.empty(0, dtype=np.int64), np.empty(0)
        applicants = self.applicants(model, eligible)
        if capacity is None:
            capacity = np.array([p.capacity for p in self.providers])
        placed = allocate(self.choices(model, applicants), self.priority(model, applicants), capacity)
        enrolled = applicants[placed >= 0]
        reach[applicants] |= np.uint8(APPLIED)
        reach[applicants[placed < 0]] |= np.uint8(WAITED)
        reach[enrolled] |= np.uint8(ENROLLED)
        getattr(children, self.enrolled)[enrolled] = True
        getattr(children, self.referred)[enrolled] = False
        counts = np.bincount(placed[placed >= 0], minlength=len(self.providers))
        for provider, count in zip(self.providers, counts):
            provider.enrolled += int(count)
        quality = np.array([p.quality for p in self.providers])
        return enrolled, quality[placed[placed >= 0]]

    def end_season(self, model: CityModel) -> None:
        """Everyone leaves the programme and its providers are empty again."""
        getattr(model.children, self.enrolled)[:] = False
        for provider in self.providers:
            provider.enrolled = 0

    def priority(self, model: CityModel, applicants: np.ndarray) -> np.ndarray:
        """Waitlist key, lower first: the order's tier, then referred children, then within the tier the lowest
        income (``lowest_income``) or a lottery."""
        children = model.children
        tie_break = model.streams.uniform(f"{self.name}.lottery", model.month, applicants)
        order = self.config.waitlist_order
        if order == "lowest_income":
            tier = children.income_quintile[applicants].astype(np.float64)
            within = 0.5 + np.arctan(children.income_z[applicants]) / np.pi  # in (0, 1): lower income first
        elif order == "highest_need":
            below = np.minimum(children.reading, children.math)[applicants] < self.below_grade_level
            tier = -(model.needs.unmet_count(model)[applicants] + below).astype(np.float64)
            within = tie_break
        else:
            tier, within = np.zeros(applicants.size), tie_break
        unreferred = ~getattr(children, self.referred)[applicants]
        return 4.0 * tier + 2.0 * unreferred + within

    # --- the month --------------------------------------------------------------------------------------------
    def step(self, model: CityModel) -> None:
        raise NotImplementedError

    def record_year(self, model: CityModel) -> None:
        """In August: this school year's reach by group, its cost and cost per child served; then a new year.

        eligible, applied, waitlisted (applied and waited for a slot at least once), turned_away (applied and
        never got one), enrolled, and unmet_needs (eligible children whose need is still unmet)."""
        children = model.children
        reach = getattr(children, self.reach)
        reached = np.flatnonzero(reach)  # the others count for no metric
        code = reach[reached] | (self.in_need(model, reached).view(np.uint8) << np.uint8(4))  # reach bits and NEED
        combination = np.arange(32)
        eligible, enrolled = (combination & ELIGIBLE) > 0, (combination & ENROLLED) > 0
        model.outcomes.count_coded(model, code, rows=reached, metrics={
            f"{self.name}_eligible": eligible,
            f"{self.name}_enrolled": enrolled,
            f"{self.name}_waitlisted": (combination & WAITED) > 0,
            f"{self.name}_turned_away": ((combination & APPLIED) > 0) & ~enrolled,
            f"{self.name}_unmet_needs": eligible & ((combination & NEED) > 0),
        })
        cost = self.cost_usd.get(model.school_year, 0.0)
        served = int(np.count_nonzero(code & ENROLLED)) * model.child_weight
        model.outcomes.add_value(model, "cost_usd", "programme", self.name, cost)
        model.outcomes.add_value(model, "cost_per_child_served_usd", "programme", self.name,
                                 cost / served if served else 0.0)
        reach[:] = 0
        getattr(children, self.referred)[:] = False
