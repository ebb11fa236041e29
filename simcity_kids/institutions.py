"""Institutions as Mesa agents: schools, providers and the children's cabinet.

Children and families are arrays (``state.py``); the few hundred institutions are agents, each with its
own attributes, so the dashboard and reports can ask them directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from .city import ProviderSpec, SchoolSpec
from .params import ASSUMPTION, Params, param

if TYPE_CHECKING:
    from .model import CityModel


class School(mesa.Agent):
    """A school: its level, neighborhood, capacity (seats), value added and this year's composition.

    ``population.Population.assign_schools`` fills it up to its capacity each September and sets its
    composition; the outcomes table reports the composition by school (``group_kind = 'school'``)."""

    def __init__(self, model: CityModel, spec: SchoolSpec, quality: float):
        super().__init__(model)
        self.name, self.level, self.capacity = spec.name, spec.level, spec.capacity
        self.neighborhood = model.city.neighborhood_index(spec.neighborhood)
        self.quality = quality  # value added against the national norm, SD per school year
        self.pupils = 0
        self.share_disadvantaged = 0.0

    @property
    def over_capacity(self) -> int:
        """Pupils beyond the school's seats: those no school of their level had room for."""
        return max(0, self.pupils - self.capacity)

    def update_composition(self, pupils: int, disadvantaged: int) -> None:
        self.pupils = pupils
        self.share_disadvantaged = disadvantaged / pupils if pupils else 0.0


class Provider(mesa.Agent):
    """A provider of one programme type, with slots it offers anyway plus slots the city funds."""

    def __init__(self, model: CityModel, spec: ProviderSpec):
        super().__init__(model)
        self.name, self.type, self.quality = spec.name, spec.type, spec.quality
        self.neighborhood = model.city.neighborhood_index(spec.neighborhood)
        self.base_capacity = spec.capacity
        self.funded_slots = 0
        self.enrolled = 0

    @property
    def capacity(self) -> int:
        return self.base_capacity + self.funded_slots


class CabinetParams(Params):
    coordination: float = param(0.3, "0-1 index", "assumption: data sharing and referral friction", ge=0, le=1)
    takeup_gain_at_full_coordination: float = param(0.3, "relative increase in take-up", ASSUMPTION,
                                                    ge=0, le=2)
    election_interval_years: int = param(4, "years", "mayoral terms in the consortium cities", ge=1, le=10)
    champion_loss_probability: float = param(0.3, "probability per election", ASSUMPTION, ge=0, le=1)
    champion_regain_probability: float = param(0.3, "probability per election", ASSUMPTION, ge=0, le=1)
    institutionalized_share: float = param(
        0.5, "share of new funding that survives losing the champion", ASSUMPTION, ge=0, le=1)


class Cabinet(mesa.Agent):
    """The mayor-led children's cabinet: coordination, a champion who may be lost at elections, budgets."""

    def __init__(self, model: CityModel, params: CabinetParams):
        super().__init__(model)
        self.params = params
        self.has_champion = True
        self.budget_usd: dict[str, float] = {}

    @property
    def coordination(self) -> float:
        return self.params.coordination * (1.0 if self.has_champion else 0.5)

    @property
    def funding_factor(self) -> float:
        """Share of planned new funding that is actually spent this year."""
        return 1.0 if self.has_champion else self.params.institutionalized_share

    @property
    def takeup_multiplier(self) -> float:
        return 1.0 + self.params.takeup_gain_at_full_coordination * self.coordination

    def hold_election(self, draw: float) -> None:
        """Keep or lose the champion (MODEL_SPEC 3.7); ``draw`` is uniform on [0, 1)."""
        if self.has_champion:
            self.has_champion = draw >= self.params.champion_loss_probability
        else:
            self.has_champion = draw < self.params.champion_regain_probability


class Governance:
    """Every election year, in September, the cabinet may lose or regain its champion."""

    name = "governance"

    def step(self, model: CityModel) -> None:
        interval = model.cabinet.params.election_interval_years
        if model.calendar_month == 9 and model.school_year > 0 and model.school_year % interval == 0:
            model.cabinet.hold_election(float(model.streams("cabinet.election", model.month).random()))


def school_quality(specs: list[SchoolSpec], rng: np.random.Generator, spread: float) -> np.ndarray:
    """Each school's value added: the profile's figure where given, else a draw around the national norm."""
    drawn = rng.normal(0.0, spread, len(specs))
    return np.array([s.quality if s.quality is not None else d for s, d in zip(specs, drawn)])
