"""A slow reference implementation of the core learning rules: one Mesa agent per child.

The fast model (``simcity_kids.CityModel``) keeps children as numpy arrays and applies each rule to every
child at once. This module restates the same rules one child at a time, with Python floats and scalar
draws from ``model.rng``, so that the vectorised code can be checked against a plain reading of the rules
(``tests/test_reference_agreement.py``) and so that benchmarks have an agent-per-child baseline to beat.

What it covers, month by month (the run starts in September; July and August are summer):

* ageing: each September after the first, age + 1; a child reaching 18 leaves (is removed), and a
  child moving up a school level moves to the nearest school of that level, as in ``population.py``;
* needs (``needs.py``): each unmet need resolves with chance 1/duration and arises with the chance that
  keeps its prevalence steady (``Needs._change_chance``);
* attendance in school months (``Needs.update_attendance``);
* early childhood (``early_childhood.py``): under 5, readiness grows by a sixtieth of the endowment;
* learning for ages 5 and over (``learning.py``): school value added, the attendance effect and the
  unmet-need penalty in school months; the income drift in summer; noise in both.

Left out on purpose: births, programmes and boosts, awareness, governance, leaving-school outcomes and
the outcome tables. The draws are not the fast model's streams: only the distributions should agree.
Monthly noise here is normal with the rule's SD; the fast model may draw it more cheaply (uniform with
the same SD, ``simcity_kids.rng.monthly_noise``), so agreement checks the SD, not the shape.

Family needs (food insecurity, housing instability) belong to the family in the fast model, so siblings
share them. Here each family is a small plain object (:class:`Family`, not an agent) that siblings hold a
reference to; the first sibling to step in a month moves the family's needs on, once, with the
family-level chances. Siblings therefore share family needs exactly as in the fast model.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from simcity_kids.city import SCHOOL_LEVELS

SCHOOL_AGE = 5  # kindergarten (simcity_kids.population.SCHOOL_AGES[0])
LAST_SCHOOL_AGE = 17  # grade 12
LEAVING_AGE = 18
SUMMER_MONTHS = (7, 8)
SCHOOL_MONTHS_PER_YEAR = 10
MONTHS_BEFORE_SCHOOL = 12 * SCHOOL_AGE
CHILD_NEEDS = ("vision", "behavioral_health", "chronic_health")
FAMILY_NEEDS = ("food_insecurity", "housing_instability")


def flip_needs(holder: object, needs: tuple[str, ...], disadvantaged: bool, model: ReferenceModel) -> None:
    """One month of each need's two-state chain, one coin flip per need (the plain reading of the rule)."""
    for need in needs:
        resolve, onset = model.transition[need][disadvantaged]
        if getattr(holder, need):
            setattr(holder, need, model.rng.random() >= resolve)
        else:
            setattr(holder, need, model.rng.random() < onset)


class Family:
    """A family's shared needs; moved on once a month by whichever of its children steps first."""

    __slots__ = ("disadvantaged", "food_insecurity", "housing_instability", "month_done")

    def __init__(self, disadvantaged: bool, food_insecurity: bool, housing_instability: bool):
        self.disadvantaged = disadvantaged
        self.food_insecurity = food_insecurity
        self.housing_instability = housing_instability
        self.month_done = -1

    def update_needs(self, model: ReferenceModel) -> None:
        if self.month_done == model.month:
            return
        self.month_done = model.month
        flip_needs(self, FAMILY_NEEDS, self.disadvantaged, model)


class ChildAgent(mesa.Agent):
    """One child: plain Python floats and bools, and a reference to the family's shared needs."""

    def __init__(self, model: ReferenceModel, row: int, family: Family, *, age: int, reading: float,
                 math_score: float, endowment_reading: float, endowment_math: float, income_z: float,
                 disadvantaged: bool, income_quintile: int, school_quality: float,
                 quality_by_level: dict[str, float], attendance_trait: float, attendance: float,
                 vision: bool, behavioral_health: bool, chronic_health: bool):
        super().__init__(model)
        self.row = row  # the child's row in the fast model's arrays at the start
        self.family = family
        self.age = age
        self.reading = reading
        self.math = math_score
        self.endowment_reading = endowment_reading
        self.endowment_math = endowment_math
        self.income_z = income_z
        self.disadvantaged = disadvantaged
        self.income_quintile = income_quintile  # fixed at the start (the comparison's grouping)
        self.school_quality = school_quality
        self.quality_by_level = quality_by_level  # the nearest school of each level, for later Septembers
        self.attendance_trait = attendance_trait
        self.attendance = attendance
        self.vision = vision
        self.behavioral_health = behavioral_health
        self.chronic_health = chronic_health

    # --- one month --------------------------------------------------------------------------------------
    def step(self) -> None:
        model = self.model
        if model.calendar_month == 9 and model.month > 0:
            if not self.grow_older():
                return
        self.update_needs()
        school_month = model.calendar_month not in SUMMER_MONTHS
        if school_month:
            self.update_attendance()
        if self.age < SCHOOL_AGE:
            self.grow_readiness()
        else:
            self.learn(school_month)

    def grow_older(self) -> bool:
        """September turnover: a year older, leave at 18, change school at a level boundary."""
        self.age += 1
        if self.age >= LEAVING_AGE:
            self.remove()
            return False
        grade = self.age - SCHOOL_AGE
        self.school_quality = 0.0
        for level, (low, high) in SCHOOL_LEVELS.items():
            if low <= grade <= high:
                self.school_quality = self.quality_by_level[level]
        return True

    def update_needs(self) -> None:
        self.family.update_needs(self.model)
        flip_needs(self, CHILD_NEEDS, self.disadvantaged, self.model)

    def penalty(self, field: str) -> float:
        """Sum over this child's unmet needs (own and family's) of a per-need penalty."""
        needs, family, total = self.model.needs_params, self.family, 0.0
        for need in CHILD_NEEDS:
            if getattr(self, need):
                total += getattr(needs.spec(need), field)
        for need in FAMILY_NEEDS:
            if getattr(family, need):
                total += getattr(needs.spec(need), field)
        return total

    def update_attendance(self) -> None:
        p = self.model.needs_params
        rate = (p.normal_attendance + self.attendance_trait
                + (p.attendance_disadvantaged_shift if self.disadvantaged else 0.0)
                - self.penalty("attendance_penalty") + p.attendance_month_sd * self.model.rng.standard_normal())
        self.attendance = min(max(rate, 0.0), 1.0)

    def grow_readiness(self) -> None:
        self.reading += self.endowment_reading / MONTHS_BEFORE_SCHOOL
        self.math += self.endowment_math / MONTHS_BEFORE_SCHOOL

    def learn(self, school_month: bool) -> None:
        model, p = self.model, self.model.learning_params
        if school_month:
            grade = min(max(self.age - SCHOOL_AGE, 0), 12)
            monthly_gain = p.annual_gain_by_grade[grade] / SCHOOL_MONTHS_PER_YEAR
            delta = (self.school_quality / SCHOOL_MONTHS_PER_YEAR
                     + p.absence_multiplier * (self.attendance - model.needs_params.normal_attendance) * monthly_gain
                     - self.penalty("learning_penalty") / SCHOOL_MONTHS_PER_YEAR)
            sd = p.school_month_noise_sd
        else:
            delta = model.summer_drift / len(SUMMER_MONTHS) * self.income_z
            sd = p.summer_noise_sd / math.sqrt(len(SUMMER_MONTHS))
        self.reading += delta + sd * model.rng.standard_normal()
        self.math += delta + sd * model.rng.standard_normal()


class ReferenceModel(mesa.Model):
    """The children of a freshly built ``CityModel``, one agent each, under the same parameters."""

    def __init__(self, fast_model, seed: int = 0):
        super().__init__(rng=seed)
        if fast_model.month != 0:
            raise ValueError("build the reference from a CityModel that has not been stepped yet")
        cfg = fast_model.config
        self.learning_params = cfg.learning
        self.needs_params = cfg.needs
        self.early_childhood_params = cfg.early_childhood
        p = self.learning_params
        self.summer_drift = p.summer_drift_strong if p.summer_loss == "strong" else p.summer_drift_weak
        self.month = 0  # months since the run began in September, as in CityModel
        self.transition = self.transition_chances()

        children, families = fast_model.children, fast_model.families
        quality = [float(s.quality) for s in fast_model.schools]
        by_level = self._nearest_school_by_level(fast_model)
        family_objects = [Family(bool(families.disadvantaged[f]), bool(families.need_food_insecurity[f]),
                                 bool(families.need_housing_instability[f])) for f in range(len(families))]
        columns = {name: getattr(children, name).tolist() for name in (
            "family", "age", "reading", "math", "endowment_reading", "endowment_math", "income_z",
            "disadvantaged", "income_quintile", "school", "attendance_trait", "attendance", "need_vision",
            "need_behavioral_health", "need_chronic_health")}
        for i in range(len(children)):
            school = columns["school"][i]
            ChildAgent(
                self, i, family_objects[columns["family"][i]], age=columns["age"][i],
                reading=columns["reading"][i], math_score=columns["math"][i],
                endowment_reading=columns["endowment_reading"][i], endowment_math=columns["endowment_math"][i],
                income_z=columns["income_z"][i], disadvantaged=columns["disadvantaged"][i],
                income_quintile=columns["income_quintile"][i],
                school_quality=quality[school] if school >= 0 else 0.0,
                quality_by_level={level: quality[ids[i]] for level, ids in by_level.items()},
                attendance_trait=columns["attendance_trait"][i], attendance=columns["attendance"][i],
                vision=columns["need_vision"][i], behavioral_health=columns["need_behavioral_health"][i],
                chronic_health=columns["need_chronic_health"][i])

    @staticmethod
    def _nearest_school_by_level(fast_model) -> dict[str, np.ndarray]:
        """For every child, the school of each level the catchment rule gives (nearest, ties by family)."""
        children = fast_model.children
        hood, family = children.neighborhood.astype(np.int64), children.family.astype(np.int64)
        out = {}
        for level in SCHOOL_LEVELS:
            table, counts = fast_model.population.catchments[level]
            out[level] = table[hood, family % counts[hood]]
        grade = children.age.astype(np.int64) - SCHOOL_AGE
        for level, (low, high) in SCHOOL_LEVELS.items():
            pupils = (grade >= low) & (grade <= high)
            if not np.array_equal(out[level][pupils], children.school[pupils]):
                raise ValueError(f"catchment rule does not reproduce the fast model's {level} schools")
        return out

    def transition_chances(self) -> dict[str, dict[bool, tuple[float, float]]]:
        """Per need and disadvantage: (monthly chance to resolve, monthly chance of onset)."""
        chances = {}
        for need in (*CHILD_NEEDS, *FAMILY_NEEDS):
            spec = self.needs_params.spec(need)
            resolve = 1.0 / spec.duration_months
            chances[need] = {
                flag: (resolve, resolve * prevalence / (1.0 - prevalence))
                for flag, prevalence in ((True, spec.prevalence_disadvantaged), (False, spec.prevalence_other))}
        return chances

    @property
    def calendar_month(self) -> int:
        """1 = January ... 12 = December; the run starts in September."""
        return (self.month + 8) % 12 + 1

    @property
    def is_school_month(self) -> bool:
        return self.calendar_month not in SUMMER_MONTHS

    def step(self) -> None:
        self.agents.do("step")
        self.month += 1


def _ordered(model: ReferenceModel) -> list[ChildAgent]:
    return sorted(model.agents, key=lambda agent: agent.row)


def observed_scores(model: ReferenceModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reading, math, starting income quintile and age of every child still in the city, by starting row."""
    agents = _ordered(model)
    return (np.array([a.reading for a in agents]), np.array([a.math for a in agents]),
            np.array([a.income_quintile for a in agents], dtype=np.int8),
            np.array([a.age for a in agents], dtype=np.int8))


def observed_attendance(model: ReferenceModel) -> np.ndarray:
    """Each remaining child's attendance in the latest school month (share of days), by starting row."""
    return np.array([a.attendance for a in _ordered(model)])


def starting_rows(model: ReferenceModel) -> np.ndarray:
    """Each remaining child's row in the fast model's arrays at the start (the order of observed_scores)."""
    return np.array([a.row for a in _ordered(model)], dtype=np.int64)
