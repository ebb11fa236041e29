"""English-language acquisition (EVIDENCE_PROGRAMMES.md section 11): English learners gain proficiency school month
by school month and are reclassified when they reach it; until then tests in English understate what they know.

Each English learner has a proficiency from 0 (at kindergarten entry) to 1 and a speed: the inverse of the school
years it would take them at a national pace, drawn from a log-normal whose median and spread are the sourced times
to reclassification. Schools differ in how fast they help (``school_support_sd``), and so do programmes (each
programme's ``english_support``: extra speed while enrolled). Each September the learners who reached proficiency
by June are reclassified, and the kindergartners from non-English homes are classified.

The share of those kindergartners classified as learners is not a parameter: it is the one that keeps the city's
share of learners in steady state at the sourced speed (``entry_share``). It is capped at all of them: the model
has no newcomers arriving in later grades, so a city with more learners than its kindergartners can give
(Salem, Louisville, Oakland, Providence, Chattanooga) has fewer in steady state (``steady_share``).

The measurement term is separate from learning: a learner's measured reading and math are their scores less
``understated_*`` times their missing proficiency (``understatement``, used by ``Learning.observed``); it is zero
once they are reclassified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr, ndtri

from ..core.calendar import SCHOOL_AGES, SCHOOL_MONTHS_PER_YEAR, SEPTEMBER
from ..core.params import Params, param

if TYPE_CHECKING:
    from ..city.profile import CityProfile
    from ..model import CityModel

SCHOOL_GRADES = SCHOOL_AGES[1] - SCHOOL_AGES[0] + 1  # K-12


class EnglishParams(Params):
    years_to_proficiency_median: float = param(
        5.0, "school years from kindergarten entry to reclassification (median)",
        "EVIDENCE_PROGRAMMES.md section 11: academic English in 4-7 years (Hakuta, Butler & Witt 2000), confirmed "
        "in Los Angeles (Thompson 2017)", ge=1, le=15)
    years_to_proficiency_log_sd: float = param(
        0.87, "SD of log school years to reclassification",
        "derived: with the median, 1/4 of learners are not reclassified after 9 years (Thompson 2017, LAUSD; "
        "EVIDENCE_PROGRAMMES.md section 11)", ge=0.05, le=3)
    school_support_sd: float = param(
        0.15, "SD of log speed of English acquisition between schools",
        "assumption: districts differ widely (the top 10 California districts reclassified 37.1-53.9% of "
        "ever-learners; UCLA CTS, EVIDENCE_PROGRAMMES.md section 11); how much of that is schools is not known",
        ge=0, le=1)
    understated_reading: float = param(
        0.10, "SD by which an English-language reading test understates a learner with no English proficiency",
        "assumption: the National Research Council (1999) validity principle; accommodations close only a small "
        "part of the gap (Kieffer et al. 2009)", ge=0, le=2)
    understated_math: float = param(
        0.15, "SD by which an English-language math test understates a learner with no English proficiency",
        "assumption: well below the d > 0.85 gain of the least proficient Spanish-speaking K-1 learners tested in "
        "Spanish (Robinson 2010), which is the extreme", ge=0, le=2)


def still_learning(params: EnglishParams, years: np.ndarray | float) -> np.ndarray:
    """The share of learners not yet reclassified ``years`` school years after kindergarten entry."""
    log_years = np.log(np.maximum(years, 1e-12))
    return 1.0 - ndtr((log_years - np.log(params.years_to_proficiency_median)) / params.years_to_proficiency_log_sd)


def _mean_still_learning(params: EnglishParams) -> float:
    """The share of a cohort's learners still learning, averaged over grades K-12: the steady state's ratio of
    learners to kindergarten learners per grade."""
    return float(np.mean(still_learning(params, np.arange(SCHOOL_GRADES, dtype=float))))


def entry_share(params: EnglishParams, profile: CityProfile) -> float:
    """The share of kindergartners from non-English homes classified as learners that keeps the city's share of
    learners in steady state: learners / (pupils from non-English homes x the mean share still learning)."""
    reachable = profile.first_language_not_english * _mean_still_learning(params)
    return float(min(1.0, profile.english_learners / reachable)) if reachable > 0 else 0.0


def steady_share(params: EnglishParams, profile: CityProfile) -> float:
    """The share of pupils who are learners in steady state: the city's, unless the entry share is capped."""
    return min(profile.english_learners, profile.first_language_not_english * _mean_still_learning(params))


def start_chances(params: EnglishParams, years: np.ndarray, wanted: float) -> np.ndarray:
    """The chance that each pupil from a non-English home, ``years`` at school, is a learner when the run starts:
    min(1, c x the share still learning after ``years``), with c such that ``wanted`` learners are expected (all
    of them if there are fewer)."""
    if wanted >= years.size:
        return np.ones(years.size)
    levels, counts = np.unique(years, return_counts=True)
    still = still_learning(params, levels)
    low, high = 0.0, 1.0 / still.min()
    for _ in range(60):  # bisection: the expected number grows with c
        c = (low + high) / 2
        low, high = (c, high) if counts @ np.minimum(1.0, c * still) < wanted else (low, c)
    return np.minimum(1.0, (low + high) / 2 * still_learning(params, years))


class EnglishAcquisition:
    """Owns ``english_learner``, each learner's proficiency and speed, and the measurement term."""

    name = "english"

    def __init__(self, model: CityModel, params: EnglishParams):
        self.params = params
        self.entry_share = entry_share(params, model.city)
        support = model.streams("schools.english_support").standard_normal(len(model.schools))
        # Each school's speed relative to the national pace (mean 1); the last entry, 1, for children not at school.
        sd = params.school_support_sd
        self.school_support = np.append(np.exp(sd * support - sd**2 / 2), 1.0).astype(np.float32)
        children = model.children
        children.define("english_learner", bool)
        children.define("english_proficiency", np.float32, fill=1.0)
        children.define("english_speed", np.float32)  # proficiency gained per school year at the national pace
        self.classify_at_start(model)
        self.school_year = model.school_year

    def classify_at_start(self, model: CityModel) -> None:
        """Each pupil from a non-English home is a learner with ``start_chances``; a learner's time to proficiency
        is drawn given that it is longer than their school years so far, and they are that far along."""
        children = model.children
        years = (children.age - SCHOOL_AGES[0]).astype(float)
        candidates = np.flatnonzero((years >= 0) & model.families.non_english_home[children.family])
        wanted = model.city.english_learners * np.count_nonzero(years >= 0)
        chance = start_chances(self.params, years[candidates], wanted)
        draw = model.streams.uniform("english.start", model.month, children.id[candidates])
        learners = candidates[draw < chance]
        self.make_learners(model, learners, years[learners])

    def make_learners(self, model: CityModel, rows: np.ndarray, years: np.ndarray | float) -> None:
        """The children in ``rows``, ``years`` at school, become learners: each one's time to proficiency is drawn
        from the sourced log-normal given that it is longer than ``years``, and they are that far along."""
        children, p = model.children, self.params
        reached = 1.0 - still_learning(p, years)
        quantile = reached + (1.0 - reached) * model.streams.uniform("english.speed", model.month, children.id[rows])
        time = p.years_to_proficiency_median * np.exp(
            p.years_to_proficiency_log_sd * ndtri(np.clip(quantile, 1e-12, 1 - 1e-12)))
        children.english_learner[rows] = True
        children.english_speed[rows] = 1.0 / time
        children.english_proficiency[rows] = years * children.english_speed[rows]

    def step(self, model: CityModel) -> None:
        if model.calendar_month == SEPTEMBER and self.school_year != model.school_year:
            self.start_school_year(model)
        if model.is_summer:
            return
        children = model.children
        learners = np.flatnonzero(children.english_learner)
        if learners.size == 0:
            return
        speed = children.english_speed[learners] * self.school_support[children.school[learners]]
        for programme in model.programmes:
            if programme.config.english_support:
                enrolled = getattr(children, programme.enrolled)[learners]
                speed *= 1 + np.float32(programme.config.english_support) * enrolled
        children.english_proficiency[learners] = np.minimum(
            children.english_proficiency[learners] + speed / np.float32(SCHOOL_MONTHS_PER_YEAR), 1.0)

    def start_school_year(self, model: CityModel) -> None:
        """Learners who reached proficiency by June are reclassified; this September's kindergartners from
        non-English homes are classified with the entry share (after the population's turnover, which ages
        everyone; ``CityModel.turn_over``). Once per school year."""
        self.school_year = model.school_year
        children = model.children
        children.english_learner &= children.english_proficiency < 1.0
        entering = np.flatnonzero((children.age == SCHOOL_AGES[0]) & model.families.non_english_home[children.family])
        draw = model.streams.uniform("english.entry", model.month, children.id[entering])
        self.make_learners(model, entering[draw < self.entry_share], 0.0)

    def understatement(self, model: CityModel, rows: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        """How much an English-language reading and math test understates these children (0 for the proficient)."""
        missing = np.float32(1.0) - model.children.english_proficiency[rows]
        return (np.float32(self.params.understated_reading) * missing,
                np.float32(self.params.understated_math) * missing)
