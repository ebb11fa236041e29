"""Population turnover each September (MODEL_SPEC section 1): leavers go, everyone ages a year, a birth
cohort arrives and every pupil gets a school place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..city.population import FAMILY_TRAITS, PopulationParams
from ..city.profile import SCHOOL_LEVELS
from ..core.allocation import allocate
from ..core.calendar import LEAVING_AGE, SCHOOL_AGES, SEPTEMBER

if TYPE_CHECKING:
    from ..model import CityModel

SCHOOL_CHOICES = 4  # nearest schools of a level a pupil tries after their first choice (assumption)


class Population:
    """Each September: leavers go, everyone ages a year, a birth cohort arrives, pupils get school places."""

    name = "population"

    def __init__(self, model: CityModel, params: PopulationParams):
        self.params = params
        self.version = 0  # changes whenever the rows of ``model.children`` change (each September)
        self._pupils, self._pupils_version = slice(0, 0), -1
        self.next_id = len(model.children)  # every child keeps one id for the run; newborns get new ones
        self.families_by_income = np.argsort(model.families.income_usd, kind="stable")
        self.catchments = {level: self._catchment_table(model, level) for level in SCHOOL_LEVELS}
        self.school_choices = {level: self._school_choices(model, level) for level in SCHOOL_LEVELS}
        # One lottery number per family, drawn once: siblings share it, and the same families keep their
        # places from year to year, so a full school does not reshuffle its pupils every September.
        self.school_lottery = model.streams("population.school_lottery").random(len(model.families))
        self.assign_schools(model)
        self.set_income_quintiles(model)
        self.school_year = model.school_year  # the generated city is in its first September already

    def step(self, model: CityModel) -> None:
        if model.calendar_month == SEPTEMBER and self.school_year != model.school_year:
            self.start_school_year(model)

    def start_school_year(self, model: CityModel) -> None:
        """September's turnover (``CityModel.turn_over``): once per school year."""
        self.school_year = model.school_year
        children = model.children
        children.age += 1
        self.replace_leavers_by_births(model, children.age < LEAVING_AGE)
        self.assign_schools(model)
        self.set_income_quintiles(model)

    def pupil_rows(self, model: CityModel) -> slice:
        """The pupils' rows, the first ones: children are kept oldest first (``city.population.generate``; leavers
        go from the front, births join at the end). Checked whenever the rows change."""
        if self._pupils_version != self.version:
            age = model.children.age
            pupils = int(np.count_nonzero(age >= SCHOOL_AGES[0]))
            if np.any(age[:pupils] < SCHOOL_AGES[0]):
                raise RuntimeError("children are no longer ordered oldest first: pupils are not the first rows")
            self._pupils, self._pupils_version = slice(0, pupils), self.version
        return self._pupils

    def replace_leavers_by_births(self, model: CityModel, stay: np.ndarray) -> None:
        """18-year-olds leave; each leaver's family has a newborn, after the children who stay. Every family keeps
        its number of children, so the city's composition (income, race, language, neighborhood, family size)
        stays as generated year after year: a steady state, not a drift from random births."""
        family = model.children.family[~stay]
        born = family.size
        traits = {t: getattr(model.families, t)[family] for t in FAMILY_TRAITS}
        ids = np.arange(self.next_id, self.next_id + born)
        self.next_id += born
        model.children.turn_over(stay, born, id=ids, family=family, age=np.zeros(born, np.int8), **traits)
        self.version += 1
        model.init_new_children(np.arange(len(model.children) - born, len(model.children)))

    def assign_schools(self, model: CityModel) -> None:
        """Place every pupil in a school of their level, no school beyond its capacity.

        A pupil who was at a school of this level last year stays there: they go first, with that school as
        their first choice. A pupil new to the level tries the nearest school (equally near schools split by
        family), then the next nearest ones. Within each group families go in the order of their lottery
        number, a round per choice (``programmes.allocation.allocate``). A pupil every choice turns away
        still attends the nearest school, over its capacity (a public school cannot refuse a pupil of its
        catchment): the school counts them in ``over_capacity``.
        """
        children = model.children
        grade = children.age.astype(np.int16) - SCHOOL_AGES[0]
        last_year = children.school.copy()
        children.school = -1
        capacity = np.array([s.capacity for s in model.schools], dtype=np.int64)
        level_of = np.array([s.level for s in model.schools] + [""])  # last_year = -1 reads the blank
        for level, (low, high) in SCHOOL_LEVELS.items():
            pupils = np.flatnonzero((grade >= low) & (grade <= high))
            table, counts = self.catchments[level]
            hood, family = children.neighborhood[pupils], children.family[pupils]
            first = table[hood, family % counts[hood]]
            continuing = level_of[last_year[pupils]] == level
            stay = np.where(continuing, last_year[pupils], first)
            if (np.bincount(stay, minlength=capacity.size) <= capacity).all():
                children.school[pupils] = stay  # every pupil's school (or nearest) has room: no rounds to run
                continue
            # A school tried twice in these choices turned the pupil away the first time and is still full.
            choices = np.column_stack([stay, first, self.school_choices[level][hood]])
            placed = allocate(choices, self.school_lottery[family] - continuing, capacity)
            children.school[pupils] = np.where(placed >= 0, placed, first)
        enrolled = children.school >= 0
        pupils = np.bincount(children.school[enrolled], minlength=len(model.schools))
        disadvantaged = np.bincount(children.school[enrolled], weights=children.disadvantaged[enrolled],
                                    minlength=len(model.schools))
        for school, count, poor in zip(model.schools, pupils, disadvantaged):
            school.update_composition(int(count), int(poor))

    @staticmethod
    def _minutes_to_schools(model: CityModel, level: str) -> tuple[np.ndarray, np.ndarray]:
        """The schools of ``level`` and the travel minutes from every neighborhood to each of them."""
        ids = np.array([k for k, s in enumerate(model.schools) if s.level == level])
        return ids, model.travel_minutes[:, [model.schools[k].neighborhood for k in ids]]

    def _school_choices(self, model: CityModel, level: str) -> np.ndarray:
        """For each neighborhood, the schools of ``level`` nearest first (ties in school order), at most
        ``SCHOOL_CHOICES`` of them: the places a pupil tries after their first choice."""
        ids, minutes = self._minutes_to_schools(model, level)
        return ids[np.argsort(minutes, axis=1, kind="stable")[:, :SCHOOL_CHOICES]]

    def _catchment_table(self, model: CityModel, level: str) -> tuple[np.ndarray, np.ndarray]:
        """For each neighborhood, the nearest schools of ``level`` (padded table) and how many there are."""
        ids, minutes = self._minutes_to_schools(model, level)
        nearest = minutes == minutes.min(axis=1, keepdims=True)
        counts = nearest.sum(axis=1)
        table = np.zeros((nearest.shape[0], counts.max()), dtype=np.int16)
        for hood, row in enumerate(nearest):
            table[hood, : counts[hood]] = ids[row]
        return table, counts

    def set_income_quintiles(self, model: CityModel) -> None:
        """Citywide family-income quintile of each child (0 = poorest fifth), by counting, not sorting."""
        children, order = model.children, self.families_by_income
        counts = np.bincount(children.family, minlength=len(model.families))[order]
        midpoints = np.cumsum(counts) - counts / 2
        family_quintile = np.empty(order.size, dtype=np.int8)
        family_quintile[order] = np.minimum(midpoints * 5 // max(len(children), 1), 4)
        children.income_quintile = family_quintile[children.family]

