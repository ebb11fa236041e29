"""Institutions as Mesa agents: schools and providers (the children's cabinet is in ``rules/governance.py``).

Children and families are arrays (``state.py``); the few hundred institutions are agents, each with its
own attributes, so the dashboard and reports can ask them directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from .profile import ProviderSpec, SchoolSpec

if TYPE_CHECKING:
    from ..model import CityModel


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


def school_quality(specs: list[SchoolSpec], rng: np.random.Generator, spread: float) -> np.ndarray:
    """Each school's value added: the profile's figure where given, else a draw around the national norm."""
    drawn = rng.normal(0.0, spread, len(specs))
    return np.array([s.quality if s.quality is not None else d for s, d in zip(specs, drawn)])
