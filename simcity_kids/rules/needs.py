"""Needs and attendance (MODEL_SPEC 3.4): needs arise and resolve month by month; unmet needs cost days.

A need is stored as unmet: services (referrals, clinics, glasses, food, housing help) resolve it through
:meth:`Needs.resolve`. Food insecurity and housing instability belong to the family; vision, behavioral
and chronic health to the child. Each month every pupil gets an attendance rate, lowered by unmet needs.

Each need is a two-state monthly Markov chain (chance to resolve 1/duration; chance of onset set so that
prevalence stays at its sourced level). It is simulated by its events: each person carries the months
until their next change, drawn from the geometric distribution of the current state's monthly chance,
which gives exactly the same process as a monthly coin flip while drawing only for those who change. The draws of
the monthly changes and of a service's resolutions are counter-based (``Streams.uniform``): a person's draw
depends on the stream, the month and their row only, so a service resolving one child's need leaves every other
child's needs as they would have been.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, model_validator

from ..core.params import ASSUMPTION, EVIDENCE_FIT, Params, param
from ..core.rng import geometric_months, monthly_noise
from ..core.state import StateArrays
from ..core.validation import InvalidAt

if TYPE_CHECKING:
    from ..model import CityModel


class NeedSpec(Params):
    # Each need's numbers share one citation, its ``source``; the units are declared here.
    level: Literal["child", "family"] = Field(json_schema_extra={"unit": "whose need: a child's or the family's"})
    prevalence_disadvantaged: float = Field(ge=0, lt=1, description="share with the need at a time",
                                            json_schema_extra={"unit": "share of economically disadvantaged"})
    prevalence_other: float = Field(ge=0, lt=1, json_schema_extra={"unit": "share of the others"})
    duration_months: float = Field(ge=1, le=600, description="mean months until it resolves on its own (the "
                                   "chain is monthly, so at least one)", json_schema_extra={"unit": "months"})
    attendance_penalty: float = Field(ge=0, le=0.5, description="share of school days lost while unmet",
                                      json_schema_extra={"unit": "share of school days"})
    learning_penalty: float = Field(ge=0, le=1, description="SD per school year lost while unmet",
                                    json_schema_extra={"unit": "SD per school year"})
    source: str = Field(max_length=1000, json_schema_extra={"unit": "citation of the numbers above"})

    @model_validator(mode="after")
    def _onset_is_a_chance(self) -> NeedSpec:
        """Onset each month is prevalence / (1 - prevalence) / duration, which must stay a probability."""
        for field in ("prevalence_disadvantaged", "prevalence_other"):
            odds = getattr(self, field) / (1 - getattr(self, field))
            if odds > self.duration_months:
                raise InvalidAt("duration_months", f"must be >= {odds:.3g} months for {field} "
                                f"{getattr(self, field):g}: a need that common must last longer "
                                f"(got {self.duration_months:g})")
        return self


NEED_DEFAULTS: dict[str, NeedSpec] = {
    "vision": NeedSpec(
        level="child", prevalence_disadvantaged=0.18, prevalence_other=0.08, duration_months=120,
        attendance_penalty=0.005, learning_penalty=0.02,
        source="prevalence: Kress Vision Program NYC, APHA 2014 (18% of low-income urban pupils); other "
               "figures assumption"),
    "behavioral_health": NeedSpec(
        level="child", prevalence_disadvantaged=0.21, prevalence_other=0.12, duration_months=12,
        attendance_penalty=0.02, learning_penalty=0.02,
        source="prevalence: National Center for Children in Poverty (about 21% of low-income 6-17); "
               "other figures assumption"),
    "chronic_health": NeedSpec(
        level="child", prevalence_disadvantaged=0.12, prevalence_other=0.08, duration_months=24,
        attendance_penalty=0.03, learning_penalty=0.01,
        source="attendance penalty: Komisarow & Hemelt 2024 (school health cuts chronic absence 29%); "
               "prevalence and learning penalty assumption"),
    "food_insecurity": NeedSpec(
        level="family", prevalence_disadvantaged=0.35, prevalence_other=0.06, duration_months=4,
        attendance_penalty=0.01, learning_penalty=0.005,
        source="Ryu & Bartfeld 2012, AJPH (20.2% of households with children, mostly transient, little "
               "link to scores); split by disadvantage assumption"),
    "housing_instability": NeedSpec(
        level="family", prevalence_disadvantaged=0.06, prevalence_other=0.005, duration_months=6,
        attendance_penalty=0.032, learning_penalty=0.13,
        source="Pavlakis et al. 2020; De Gregorio et al. 2020 (-0.13 SD math, +5.8 days absent of 180)"),
}
NEEDS: tuple[str, ...] = tuple(NEED_DEFAULTS)


class NeedsParams(Params):
    vision: NeedSpec = NEED_DEFAULTS["vision"]
    behavioral_health: NeedSpec = NEED_DEFAULTS["behavioral_health"]
    chronic_health: NeedSpec = NEED_DEFAULTS["chronic_health"]
    food_insecurity: NeedSpec = NEED_DEFAULTS["food_insecurity"]
    housing_instability: NeedSpec = NEED_DEFAULTS["housing_instability"]
    # Attendance is fitted to chronic absence (Attendance Works: about 1 pupil in 7) and to García & Weiss 2018's
    # grade 8 math by days missed (NAEP 2015), jointly with learning.absence_multiplier.
    normal_attendance: float = param(0.9569, "share of school days, before unmet needs' penalties",
                                     f"{EVIDENCE_FIT}; about the US average daily attendance of 0.95", ge=0.5, le=1)
    attendance_child_sd: float = param(0.03648, "share of school days", EVIDENCE_FIT, ge=0, le=0.3)
    attendance_disadvantaged_shift: float = param(-0.009038, "share of school days", EVIDENCE_FIT, ge=-0.3, le=0.3)
    attendance_month_sd: float = param(0.06278, "share of school days", EVIDENCE_FIT, ge=0, le=0.3)
    attendance_per_social_emotional_sd: float = param(
        0.01, "share of school days per SD of social-emotional skill", "assumption: mentoring and behavioural "
        "programmes improve attendance (EVIDENCE_PROGRAMMES.md sections 1 and 8, direction only)", ge=0, le=0.2)
    chronic_absence_threshold: float = param(0.90, "share of school days",
                                             "Attendance Works: missing 10% or more", ge=0.5, le=1)

    def spec(self, need: str) -> NeedSpec:
        return getattr(self, need)


class Needs:
    """Owns the unmet-need flags and each pupil's attendance."""

    name = "needs"

    def __init__(self, model: CityModel, params: NeedsParams):
        self.params = params
        children, families = model.children, model.families
        for need in NEEDS:
            people = children if params.spec(need).level == "child" else families
            people.define(f"need_{need}", bool)
            people.define(f"wait_{need}", np.int16)
            self._start(need, people, np.arange(len(people)), model.streams(f"needs.{need}.initial"))
        children.define("attendance_trait", np.float32)
        children.define("social_emotional", np.float32)  # SD against peers; programmes raise it (mentoring)
        children.define("attendance", np.float32, fill=params.normal_attendance)
        children.define("attendance_days", np.float32)
        children.define("school_months", np.int8)
        self.init_children(model, np.arange(len(children)))
        # Unmet needs as a bit pattern per child (child needs first, then family needs), and for every
        # pattern its count and penalties: one table look-up per child instead of a pass per need.
        self._child_needs = [n for n in NEEDS if params.spec(n).level == "child"]
        self._family_needs = [n for n in NEEDS if params.spec(n).level == "family"]
        order = self._child_needs + self._family_needs
        has = (np.arange(2 ** len(order))[:, None] >> np.arange(len(order))) & 1  # (pattern, need) 0/1
        self._by_pattern = {
            "count": has.sum(axis=1).astype(np.int8),
            "attendance_penalty": (has @ [params.spec(n).attendance_penalty for n in order]).astype(np.float32),
            "learning_penalty": (has @ [params.spec(n).learning_penalty for n in order]).astype(np.float32),
        }
        self._pattern: np.ndarray | None = None
        self.names = NEEDS
        self._summary: dict[str, np.ndarray] = {}

    def _start(self, need: str, people: StateArrays, rows: np.ndarray, rng: np.random.Generator) -> None:
        """Draw these people's need from the chain's stationary state: unmet with its prevalence, and the
        months to the next change from the current state (memoryless, so no history is needed)."""
        spec, disadvantaged = self.params.spec(need), people.disadvantaged[rows]
        flags = rng.random(rows.size) < np.where(disadvantaged, spec.prevalence_disadvantaged, spec.prevalence_other)
        getattr(people, f"need_{need}")[rows] = flags
        chance = self._change_chance(spec, disadvantaged, flags)
        getattr(people, f"wait_{need}")[rows] = geometric_months(rng.random(rows.size), chance)

    def init_children(self, model: CityModel, new: np.ndarray) -> None:
        """Newborns get an attendance trait and start each child need in its stationary state, so that
        prevalence stays at its sourced level as cohorts turn over (the initial population got its needs
        in ``__init__``)."""
        children = model.children
        rng = model.streams("needs.attendance_trait", model.month)
        children.attendance_trait[new] = self.params.attendance_child_sd * rng.standard_normal(new.size)
        if model.month == model.start_month:
            return
        for need in self._child_needs:
            self._start(need, children, new, model.streams(f"needs.{need}.births", model.month))

    @staticmethod
    def _change_chance(spec: NeedSpec, disadvantaged: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """Monthly chance of a change: resolving while unmet, onset otherwise (keeps prevalence steady)."""
        resolve = 1.0 / spec.duration_months
        prevalence = np.where(disadvantaged, spec.prevalence_disadvantaged, spec.prevalence_other)
        return np.where(flags, resolve, resolve * prevalence / (1 - prevalence))

    def unmet(self, model: CityModel, need: str, rows: np.ndarray | None = None) -> np.ndarray:
        """Each child's unmet-need flag (family needs are the family's), for every child or these ``rows``."""
        children = model.children
        if self.params.spec(need).level == "child":
            flags = getattr(children, f"need_{need}")
            return flags if rows is None else flags[rows]
        family = children.family if rows is None else children.family.take(rows)
        return getattr(model.families, f"need_{need}").take(family)  # take: [] converts int32 positions first

    def summary(self, model: CityModel, field: str) -> np.ndarray:
        """Per child: ``count`` of unmet needs, or the ``attendance_penalty`` or ``learning_penalty`` they cost.

        Built once after the month's needs change; a service's resolve then updates only the children it
        concerns (``_toggle``)."""
        if self._pattern is None:
            family = np.zeros(len(model.families), dtype=np.uint8)
            for bit, need in enumerate(self._family_needs, start=len(self._child_needs)):
                family |= getattr(model.families, f"need_{need}").view(np.uint8) << np.uint8(bit)
            pattern = family[model.children.family]
            for bit, need in enumerate(self._child_needs):
                pattern |= getattr(model.children, f"need_{need}").view(np.uint8) << np.uint8(bit)
            # as positions (intp): numpy then looks the summaries up without converting the index each time
            self._pattern, self._summary = pattern.astype(np.intp), {}
        if field not in self._summary:
            self._summary[field] = self._by_pattern[field][self._pattern]
        return self._summary[field]

    def unmet_count(self, model: CityModel) -> np.ndarray:
        return self.summary(model, "count")

    def resolve(self, model: CityModel, need: str, children_idx: np.ndarray, service: str) -> np.ndarray:
        """A service meets ``need`` for these children: for a family need, for their whole family.

        The contract every service relies on:

        - only needs that are unmet change: anyone without the need keeps their state and their draws;
        - a resolved need may arise again later: its months until onset are drawn as for anyone without it,
          from the stream ``needs.<need>.resolved.<service>`` of this month, so two services that resolve
          needs in the same month draw independently (call it once per service and month);
        - attendance already set this month stays; the learning penalty of this month already reflects it
          (programmes act after needs and before learning in the monthly order).

        Returns the rows resolved (children for a child need, families for a family need), so that the
        service can count and cost what it did.
        """
        if need not in NEED_DEFAULTS:
            raise ValueError(f"unknown need '{need}'; allowed: {', '.join(NEEDS)}")
        spec = self.params.spec(need)
        children_idx = np.asarray(children_idx, dtype=np.int64)
        people = model.children if spec.level == "child" else model.families
        rows = children_idx if spec.level == "child" else model.children.family[children_idx]
        flags = getattr(people, f"need_{need}")
        rows = np.unique(rows[flags[rows]])
        flags[rows] = False
        chance = self._change_chance(spec, people.disadvantaged[rows], np.zeros(rows.size, dtype=bool))
        draw = model.streams.uniform(f"needs.{need}.resolved.{service}", model.month, rows)
        getattr(people, f"wait_{need}")[rows] = geometric_months(draw, chance)
        self._toggle(model, need, rows)
        return rows

    def _toggle(self, model: CityModel, need: str, rows: np.ndarray) -> None:
        """Keep the unmet-need patterns and their look-ups current after ``need`` switched for ``rows`` (children
        for a child need, families for a family need): work for the children concerned only."""
        if self._pattern is None or rows.size == 0:
            return  # built afresh when next asked for, or nothing changed
        if self.params.spec(need).level == "child":
            hit = rows
        else:
            family_hit = np.zeros(len(model.families), dtype=bool)
            family_hit[rows] = True
            hit = np.flatnonzero(family_hit[model.children.family])
        self._pattern[hit] ^= 1 << (self._child_needs + self._family_needs).index(need)
        for field, summary in self._summary.items():
            summary[hit] = self._by_pattern[field][self._pattern[hit]]

    def penalty(self, model: CityModel, field: str) -> np.ndarray:
        """Sum over unmet needs of a per-need penalty (``attendance_penalty`` or ``learning_penalty``)."""
        return self.summary(model, field)

    def step(self, model: CityModel) -> None:
        for need in NEEDS:
            spec = self.params.spec(need)
            people = model.children if spec.level == "child" else model.families
            flags, wait = getattr(people, f"need_{need}"), getattr(people, f"wait_{need}")
            wait -= 1
            due = np.flatnonzero(wait <= 0)
            if due.size:
                flags[due] = ~flags[due]
                chance = self._change_chance(spec, people.disadvantaged[due], flags[due])
                wait[due] = geometric_months(model.streams.uniform(f"needs.{need}", model.month, due), chance)
        self._pattern = None  # a month's changes touch many children: the next look-up builds afresh
        if model.is_school_month:
            self.update_attendance(model)

    def update_attendance(self, model: CityModel) -> None:
        p, children = self.params, model.children
        if model.calendar_month == 9:
            children.attendance_days = 0.0
            children.school_months = 0
        pupils = model.population.pupil_rows(model)
        rate = monthly_noise(model.streams("needs.attendance", model.month), pupils.stop, p.attendance_month_sd)
        rate += children.attendance_trait[pupils]
        rate += np.float32(p.attendance_per_social_emotional_sd) * children.social_emotional[pupils]
        shift = np.float32(p.attendance_disadvantaged_shift) * children.disadvantaged[pupils]
        rate += np.float32(p.normal_attendance) + shift
        rate -= self.penalty(model, "attendance_penalty")[pupils]
        np.clip(rate, 0.0, 1.0, out=children.attendance[pupils])
        children.attendance_days[pupils] += children.attendance[pupils]
        children.school_months[pupils] += 1

    def yearly_attendance(self, model: CityModel) -> np.ndarray:
        """Each pupil's attendance over the school year so far (share of days)."""
        children = model.children
        return children.attendance_days / np.maximum(children.school_months, 1)
