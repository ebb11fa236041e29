"""A slow reference implementation of the core rules: one Mesa agent per child, built from the city profile.

The fast model (``simcity_kids.CityModel``) keeps children as numpy arrays and applies each rule to every
child at once. This module restates the same rules one child at a time, with Python floats and scalar
draws from the model's own ``random.Random`` (``model.random``), so that the vectorised code can be checked
against a plain reading of the rules (``tests/test_reference_agreement.py``) and so that benchmarks have an
agent-per-child baseline to beat.

The reference builds its own children. Only the demographic skeleton (families, ages, race, income,
disadvantage, parental education, home language, neighborhood) comes from
``simcity_kids.city.population.generate``, which is tested on its own. Everything the monthly rules start from is
drawn here, one family and one child at a time:

* each family's lottery number for school places (``Population.__init__``), and its needs and each
  child's own, each unmet with its prevalence (``needs.py``, ``Needs._start``);
* each child's attendance trait (``Needs.init_children``);
* each child's readiness endowment and starting scores (``early_childhood.py``, ``EarlyChildhood.__init__``
  and ``draw_endowments``);
* who is an English learner, and each learner's speed and proficiency (``english.py``,
  ``EnglishAcquisition.classify_at_start``; the chance per school years comes from its ``start_chances``), and
  each school's support of English acquisition, drawn here for the reference's schools;
* school places (``population.py``, ``Population.assign_schools``): at the start and each September, per
  level, a round per choice, no school beyond its capacity. Pupils who were at a school of the level last
  year go first and try that school first; then pupils new to the level. Each group goes in lottery order,
  trying the nearest school (equally near ones split by family), then the next nearest. A pupil no choice
  has room for attends the nearest school over its capacity. School value added is the profile's ``quality``.

What it covers, month by month (the run starts in September; July and August are summer):

* September turnover after the first: age + 1, leave at 18, new school places; learners who reached English
  proficiency are reclassified, and kindergartners from non-English homes are learners with the entry share;
* English proficiency grows in school months at the learner's speed times the school's support;
* needs: each unmet need resolves with chance 1/duration and arises with the chance that keeps its
  prevalence steady (``Needs._change_chance``); one coin flip per need and month;
* attendance in school months (``Needs.update_attendance``) and its school-year average;
* early childhood: under 5, readiness grows by a sixtieth of the endowment;
* learning for ages 5 and over (``learning.py``): school value added, the attendance effect and the
  unmet-need penalty in school months; the income drift in summer; noise in both;
* observed scores: a learner's reading and math less the measurement term (``english.py``, ``understatement``).

Left out on purpose: births (they never touch the children already there), programmes and boosts,
awareness, governance, leaving-school outcomes and the outcome tables. The draws are not the fast model's
streams: only distributions should agree. Monthly noise here is normal with the rule's SD; the fast model
may draw it more cheaply (uniform with the same SD, ``simcity_kids.core.rng.monthly_noise``), so agreement checks
the SD, not the shape.

Family needs belong to the family, so siblings share them: each family is a small plain object
(:class:`Family`, not an agent) that siblings hold a reference to; the first sibling to step in a month moves
the family's needs on, once.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import mesa
import numpy as np

from simcity_kids.city.profile import SCHOOL_LEVELS, CityProfile
from simcity_kids.city.population import generate
from simcity_kids.core.rng import Streams
from simcity_kids.rules.english import entry_share, start_chances, still_learning
from simcity_kids.scenario import ScenarioConfig

SCHOOL_AGE = 5  # kindergarten (simcity_kids.city.population.SCHOOL_AGES[0])
LEAVING_AGE = 18
SUMMER_MONTHS = (7, 8)
SCHOOL_MONTHS_PER_YEAR = 10
MONTHS_BEFORE_SCHOOL = 12 * SCHOOL_AGE
SCHOOL_CHOICES = 4  # schools of a level a pupil tries (simcity_kids.city.population.SCHOOL_CHOICES)
CHILD_NEEDS = ("vision", "behavioral_health", "chronic_health")
FAMILY_NEEDS = ("food_insecurity", "housing_instability")


def start_needs(holder: object, needs: tuple[str, ...], disadvantaged: bool, model: ReferenceModel) -> None:
    """Each need unmet with its prevalence (the chain's steady state)."""
    for need in needs:
        spec = model.needs_params.spec(need)
        prevalence = spec.prevalence_disadvantaged if disadvantaged else spec.prevalence_other
        setattr(holder, need, model.random.random() < prevalence)


def flip_needs(holder: object, needs: tuple[str, ...], disadvantaged: bool, model: ReferenceModel) -> None:
    """One month of each need's two-state chain, one coin flip per need (the plain reading of the rule)."""
    for need in needs:
        resolve, onset = model.transition[need][disadvantaged]
        if getattr(holder, need):
            setattr(holder, need, model.random.random() >= resolve)
        else:
            setattr(holder, need, model.random.random() < onset)


class Family:
    """A family's fixed traits, its school lottery number and its shared needs."""

    __slots__ = ("index", "neighborhood", "income_z", "disadvantaged", "parent_ba", "non_english_home",
                 "lottery", "food_insecurity", "housing_instability", "month_done")

    def __init__(self, model: ReferenceModel, index: int, neighborhood: int, income_z: float,
                 disadvantaged: bool, parent_ba: bool, non_english_home: bool):
        self.index = index
        self.neighborhood = neighborhood
        self.income_z = income_z
        self.disadvantaged = disadvantaged
        self.parent_ba = parent_ba
        self.non_english_home = non_english_home
        self.lottery = model.random.random()  # one number per family: siblings share their priority
        start_needs(self, FAMILY_NEEDS, disadvantaged, model)
        self.month_done = -1

    def update_needs(self, model: ReferenceModel) -> None:
        if self.month_done == model.month:
            return
        self.month_done = model.month
        flip_needs(self, FAMILY_NEEDS, self.disadvantaged, model)


class ChildAgent(mesa.Agent):
    """One child: plain Python floats and bools, and a reference to the family."""

    def __init__(self, model: ReferenceModel, row: int, family: Family, age: int):
        super().__init__(model)
        self.row = row  # the child's row in the generated population: an identity for comparisons
        self.family = family
        self.age = age
        self.school = -1  # index into the profile's schools; -1 before kindergarten
        start_needs(self, CHILD_NEEDS, family.disadvantaged, model)
        needs = model.needs_params
        self.attendance_trait = needs.attendance_child_sd * model.random.gauss(0.0, 1.0)
        self.attendance = needs.normal_attendance
        self.attendance_days = 0.0
        self.school_months = 0
        self.english_learner, self.english_proficiency, self.english_speed = False, 1.0, 0.0
        self.draw_endowment()
        self.draw_starting_scores()

    def become_learner(self, years_at_school: float) -> None:
        """An English learner after ``years_at_school``: their time to proficiency is log-normal given that it is
        longer than that, and they are that far along."""
        p, rng = self.model.english_params, self.model.random
        reached = 1.0 - float(still_learning(p, years_at_school))
        quantile = min(max(reached + (1.0 - reached) * rng.random(), 1e-12), 1 - 1e-12)
        years = p.years_to_proficiency_median * math.exp(p.years_to_proficiency_log_sd * NormalDist().inv_cdf(quantile))
        self.english_learner, self.english_speed = True, 1.0 / years
        self.english_proficiency = years_at_school / years

    def draw_endowment(self) -> None:
        """Readiness endowment: family resources, home language and the child's own part (correlated)."""
        p, family, rng = self.model.early_childhood_params, self.family, self.model.random
        resources = (p.readiness_per_income_sd * family.income_z
                     + p.readiness_parent_ba * (float(family.parent_ba) - 0.5))
        shared, own = rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0)
        rho = p.reading_math_correlation
        self.endowment_reading = (resources + p.readiness_non_english_reading * family.non_english_home
                                  + p.readiness_child_sd * shared)
        self.endowment_math = (resources + p.readiness_non_english_math * family.non_english_home
                               + p.readiness_child_sd * (rho * shared + math.sqrt(1 - rho**2) * own))

    def draw_starting_scores(self) -> None:
        """The readiness grown so far, plus a spread for the school years already behind the child."""
        p, rng = self.model.early_childhood_params, self.model.random
        grown = min(self.age * 12, MONTHS_BEFORE_SCHOOL) / MONTHS_BEFORE_SCHOOL
        spread = p.prior_school_spread * math.sqrt(max(self.age - SCHOOL_AGE, 0) / 12)
        self.reading = self.endowment_reading * grown + spread * rng.gauss(0.0, 1.0)
        self.math = self.endowment_math * grown + spread * rng.gauss(0.0, 1.0)

    # --- one month --------------------------------------------------------------------------------------
    def step(self) -> None:
        model = self.model
        self.update_needs()
        school_month = model.calendar_month not in SUMMER_MONTHS
        if school_month:
            self.update_attendance()
            if self.english_learner:
                speed = self.english_speed * model.english_support[self.school]
                self.english_proficiency = min(self.english_proficiency + speed / SCHOOL_MONTHS_PER_YEAR, 1.0)
        if self.age < SCHOOL_AGE:
            self.grow_readiness()
        else:
            self.learn(school_month)

    def update_needs(self) -> None:
        self.family.update_needs(self.model)
        flip_needs(self, CHILD_NEEDS, self.family.disadvantaged, self.model)

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
        model, p = self.model, self.model.needs_params
        if model.calendar_month == 9:
            self.attendance_days, self.school_months = 0.0, 0
        rate = (p.normal_attendance + self.attendance_trait
                + (p.attendance_disadvantaged_shift if self.family.disadvantaged else 0.0)
                - self.penalty("attendance_penalty") + p.attendance_month_sd * model.random.gauss(0.0, 1.0))
        self.attendance = min(max(rate, 0.0), 1.0)
        if self.age >= SCHOOL_AGE:
            self.attendance_days += self.attendance
            self.school_months += 1

    def grow_readiness(self) -> None:
        self.reading += self.endowment_reading / MONTHS_BEFORE_SCHOOL
        self.math += self.endowment_math / MONTHS_BEFORE_SCHOOL

    def learn(self, school_month: bool) -> None:
        model, p = self.model, self.model.learning_params
        if school_month:
            grade = min(self.age - SCHOOL_AGE, 12)
            monthly_gain = p.annual_gain_by_grade[grade] / SCHOOL_MONTHS_PER_YEAR
            delta = (model.school_quality[self.school] / SCHOOL_MONTHS_PER_YEAR
                     + p.absence_multiplier * (self.attendance - model.needs_params.normal_attendance) * monthly_gain
                     - self.penalty("learning_penalty") / SCHOOL_MONTHS_PER_YEAR)
            sd = p.school_month_noise_sd
        else:
            delta = model.summer_drift / len(SUMMER_MONTHS) * self.family.income_z
            sd = p.summer_noise_sd / math.sqrt(len(SUMMER_MONTHS))
        self.reading += delta + sd * model.random.gauss(0.0, 1.0)
        self.math += delta + sd * model.random.gauss(0.0, 1.0)


class ReferenceModel(mesa.Model):
    """A city's children, one agent each, built from the profile and run under a scenario's parameters."""

    def __init__(self, profile: CityProfile, config: ScenarioConfig, seed: int = 0):
        super().__init__(rng=seed)
        self.needs_params = config.needs
        self.learning_params = config.learning
        self.early_childhood_params = config.early_childhood
        self.english_params = english = config.english
        self.entry_share = entry_share(english, profile)
        p = self.learning_params
        self.summer_drift = p.summer_drift_strong if p.summer_loss == "strong" else p.summer_drift_weak
        self.month = 0  # months since the run began in September, as in CityModel
        self.transition = self.transition_chances()
        if any(s.quality is None for s in profile.schools):
            raise ValueError("give every school a quality in the profile: both models must read the same value added")
        self.school_quality = [s.quality for s in profile.schools]
        self.capacity = [s.capacity for s in profile.schools]
        self.school_level = [s.level for s in profile.schools]
        sd = english.school_support_sd
        self.english_support = [math.exp(sd * self.random.gauss(0.0, 1.0) - sd**2 / 2) for _ in profile.schools]

        families, children = generate(profile, config.population, Streams(seed))
        family_objects = [
            Family(self, f, hood, income_z, disadvantaged, parent_ba, non_english)
            for f, (hood, income_z, disadvantaged, parent_ba, non_english) in enumerate(zip(
                families.neighborhood.tolist(), families.income_z.tolist(), families.disadvantaged.tolist(),
                families.parent_ba.tolist(), families.non_english_home.tolist()))]
        self.choices = {level: self.school_choices(profile, level) for level in SCHOOL_LEVELS}
        for row, (family, age) in enumerate(zip(children.family.tolist(), children.age.tolist())):
            ChildAgent(self, row, family_objects[family], age)
        self.classify_english_learners(profile.english_learners)
        self.assign_schools()

    def classify_english_learners(self, share: float) -> None:
        """Each pupil from a non-English home is a learner with the fast model's start chance for their school
        years, part way to proficiency."""
        pupils = [child for child in self.agents if child.age >= SCHOOL_AGE]
        candidates = [child for child in pupils if child.family.non_english_home]
        years = np.array([child.age - SCHOOL_AGE for child in candidates], dtype=float)
        for child, chance in zip(candidates, start_chances(self.english_params, years, share * len(pupils))):
            if self.random.random() < chance:
                child.become_learner(float(child.age - SCHOOL_AGE))

    @staticmethod
    def school_choices(profile: CityProfile, level: str) -> list[list[list[int]]]:
        """Per neighborhood, one list of choices per equally near school of ``level``: that school first,
        then the other schools of the level nearest first (ties in school order), ``SCHOOL_CHOICES`` in all."""
        hoods = [profile.neighborhood_index(s.neighborhood) for s in profile.schools]
        ids = [k for k, s in enumerate(profile.schools) if s.level == level]
        out = []
        for minutes in profile.travel_minutes.tolist():
            by_distance = sorted(ids, key=lambda k: minutes[hoods[k]])  # stable: ties in school order
            nearest = [k for k in by_distance if minutes[hoods[k]] == minutes[hoods[by_distance[0]]]]
            out.append([[first] + [k for k in by_distance if k != first][: SCHOOL_CHOICES - 1] for first in nearest])
        return out

    def choices_of(self, family: Family, level: str) -> list[int]:
        """The family's choices: equally near first choices are split by family index."""
        options = self.choices[level][family.neighborhood]
        return options[family.index % len(options)]

    def assign_schools(self) -> None:
        """School places by level, no school beyond its capacity.

        Pupils who were at a school of the level last year go first, with that school as their first choice,
        then their nearest-first list; pupils new to the level follow with their nearest-first list. Each
        group goes in lottery order, a round per choice: in round r each pupil still waiting takes their r-th
        choice if it has a free seat. A pupil no choice had room for attends the nearest school anyway."""
        free = list(self.capacity)
        for level, (low, high) in SCHOOL_LEVELS.items():
            continuing, new = [], []
            for child in self.agents:
                if low <= child.age - SCHOOL_AGE <= high:
                    nearest = self.choices_of(child.family, level)
                    if child.school >= 0 and self.school_level[child.school] == level:
                        continuing.append((child, [child.school] + [k for k in nearest if k != child.school]))
                    else:
                        new.append((child, nearest))
            waiting = [*sorted(continuing, key=lambda entry: entry[0].family.lottery),
                       *sorted(new, key=lambda entry: entry[0].family.lottery)]
            for round_ in range(SCHOOL_CHOICES + 1):  # a continuing pupil's school may add one choice
                left = []
                for child, choices in waiting:
                    if round_ < len(choices) and free[choices[round_]] > 0:
                        child.school = choices[round_]
                        free[child.school] -= 1
                    else:
                        left.append((child, choices))
                waiting = left
            for child, _ in waiting:
                child.school = self.choices_of(child.family, level)[0]

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

    def step(self) -> None:
        if self.calendar_month == 9 and self.month > 0:
            self.turnover()
        self.agents.do("step")
        self.month += 1

    def turnover(self) -> None:
        """September: a year older, leave at 18, new school places for everyone; learners at full proficiency are
        reclassified, and kindergartners from non-English homes become learners with the entry share."""
        for child in list(self.agents):
            child.age += 1
            if child.age >= LEAVING_AGE:
                child.remove()
                continue
            if child.english_learner and child.english_proficiency >= 1.0:
                child.english_learner = False
            if child.age == SCHOOL_AGE and child.family.non_english_home and self.random.random() < self.entry_share:
                child.become_learner(0.0)
        self.assign_schools()


def observed(model: ReferenceModel) -> dict[str, np.ndarray]:
    """Every child still in the city, by starting row: row, family, age, disadvantaged, reading, math, school and
    the school year's attendance so far (0 before kindergarten)."""
    agents, english = sorted(model.agents, key=lambda a: a.row), model.english_params
    return {
        "row": np.array([a.row for a in agents], dtype=np.int64),
        "family": np.array([a.family.index for a in agents], dtype=np.int64),
        "age": np.array([a.age for a in agents], dtype=np.int64),
        "disadvantaged": np.array([a.family.disadvantaged for a in agents]),
        "reading": np.array([a.reading - english.understated_reading * (1 - a.english_proficiency) for a in agents]),
        "math": np.array([a.math - english.understated_math * (1 - a.english_proficiency) for a in agents]),
        "school": np.array([a.school for a in agents], dtype=np.int64),
        "attendance": np.array([a.attendance_days / max(a.school_months, 1) for a in agents]),
    }
