"""The synthetic population: families and children matching a city profile, and their social ties.

The generator matches the city profile's marginals (race/ethnicity, economic disadvantage, home language,
pupils by age; English learners are classified by ``rules/english.py``) by quota rather than by independent
draws, so a small city is not off by sampling noise. Correlations (income with race, neighborhood and parental
education; language with race) come from latent scores that decide who fills each quota.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from .profile import RACES, CityProfile, Race
from ..core.params import ASSUMPTION, Params, between, param
from ..core.quota import largest_remainder, top_share, top_share_by_group
from .segregation import income_spread, race_table
from ..core.rng import Streams
from ..core.calendar import LEAVING_AGE, SCHOOL_AGES
from ..core.state import StateArrays

# Family attributes copied onto each child, so monthly rules read them without a gather (they never change).
FAMILY_TRAITS = ("neighborhood", "race", "income_z", "disadvantaged")


class PopulationParams(Params):
    extra_children_per_family: float = param(
        0.9, "children", "assumption: US families with children have about 1.9 children under 18", ge=0,
        le=5)
    sibling_age_spread: float = param(6.0, "years", ASSUMPTION, ge=0, le=17)
    national_median_income_usd: float = param(
        74_580, "USD (2022)", "US Census Bureau, Income in the United States: 2022 (P60-279)",
        ge=10_000, le=1_000_000)
    log_income_sd: float = param(0.8, "SD of log income", ASSUMPTION, ge=0.1, le=2)
    race_income_shift: dict[Race, between(-3, 3)] = param(  # type: ignore[valid-type]
        {"white": 0.35, "asian": 0.3, "other": 0.0, "black": -0.45, "latino": -0.4},
        "SD of the income latent", "assumption: direction from US poverty rates by race")
    parent_ba_intercept: float = param(-0.6, "logit", ASSUMPTION, ge=-10, le=10)
    parent_ba_per_income_sd: float = param(1.6, "logit per SD of log income", ASSUMPTION, ge=-5, le=5)
    race_language_shift: dict[Race, between(-3, 3)] = param(  # type: ignore[valid-type]
        {"white": -1.0, "black": 0.0, "latino": 2.0, "asian": 1.5, "other": 0.5},
        "SD of the language latent", ASSUMPTION)
    burn_in_years: int = param(
        13, "years of the city's history simulated before year 0 under the baseline policy (city/history.py)",
        "derived: the oldest pupil in year 0 entered kindergarten 13 years before, so every pupil's history is "
        "the model's own (a steady-state start); 0 starts from the generated city, readiness endowments alone",
        ge=0, le=30)
    ties_within_neighborhood: int = param(3, "ties per family", ASSUMPTION, ge=0, le=20)
    ties_across_city: int = param(1, "ties per family", ASSUMPTION, ge=0, le=20)


def generate(profile: CityProfile, params: PopulationParams, streams: Streams) -> tuple[StateArrays, StateArrays]:
    """Families and children aged 0-17 matching ``profile``'s marginals."""
    rng = streams("population.generate")
    ages, child_family = _children_in_families(profile, params, rng)
    pupils_per_family = np.bincount(child_family, weights=(ages >= SCHOOL_AGES[0]))
    neighborhood, race, table = _homes_and_race(profile, pupils_per_family.size, rng)
    advantage, disadvantaged = _disadvantage(profile, params, neighborhood, race, table, pupils_per_family, rng)

    # Income order: every disadvantaged family below every other, by advantage within each group.
    n_families = neighborhood.size
    rank = np.empty(n_families)
    rank[np.argsort(advantage - 1e3 * disadvantaged)] = (np.arange(n_families) + 0.5) / n_families  # no ties
    log_income = np.log(profile.median_household_income_usd) + params.log_income_sd * ndtri(rank)
    income_z = (log_income - np.log(params.national_median_income_usd)) / params.log_income_sd
    parent_ba = rng.random(n_families) < 1 / (1 + np.exp(
        -(params.parent_ba_intercept + params.parent_ba_per_income_sd * ndtri(rank))))
    language = np.array([params.race_language_shift[r] for r in RACES])[race] + rng.standard_normal(
        n_families)
    non_english = _quota(profile, "non_english_share", profile.first_language_not_english, language,
                         pupils_per_family, neighborhood)

    families = StateArrays(n_families)
    families.define("neighborhood", np.int16, values=neighborhood)
    families.define("race", np.int8, values=race)
    families.define("income_usd", np.float32, values=np.exp(log_income))
    families.define("income_z", np.float32, values=income_z)
    families.define("disadvantaged", bool, values=disadvantaged)
    families.define("parent_ba", bool, values=parent_ba)
    families.define("non_english_home", bool, values=non_english)


    children = StateArrays(ages.size)
    children.define("id", np.int64, values=np.arange(ages.size))  # kept for the whole run (``rules/turnover``)
    children.define("family", np.int32, values=child_family)
    children.define("age", np.int8, values=ages)
    for trait in FAMILY_TRAITS:
        children.define(trait, getattr(families, trait).dtype, values=getattr(families, trait)[child_family])
    children.define("income_quintile", np.int8, fill=2)
    children.define("school", np.int16, fill=-1)
    return families, children


def _children_in_families(profile: CityProfile, params: PopulationParams,
                          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Equal cohorts of ages 0-17 (13 of them pupils), grouped into families of siblings close in age.

    Children come oldest first, so the pupils are the first rows; turnover keeps that order (leavers go from the
    front, births join at the end), and the monthly rules work on the pupils' rows as one slice
    (``Population.pupil_rows``)."""
    per_age = max(1, round(profile.pupils / 13))
    ages = np.repeat(np.arange(LEAVING_AGE - 1, -1, -1, dtype=np.int8), per_age)
    sizes = 1 + rng.poisson(params.extra_children_per_family, size=ages.size)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), ages.size) + 1]
    sizes[-1] -= sizes.sum() - ages.size
    order = np.argsort(ages + rng.uniform(0, params.sibling_age_spread, ages.size))  # continuous: no ties
    child_family = np.empty(ages.size, dtype=np.int32)
    child_family[order] = np.repeat(np.arange(sizes.size, dtype=np.int32), sizes)
    return ages, child_family


def _homes_and_race(profile: CityProfile, n_families: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each family's neighborhood (by population share) and race (by a neighborhood-by-race quota table
    with the city's shares and the profile's segregation)."""
    hoods = profile.neighborhoods
    hood_counts = largest_remainder(np.array([h.population_share for h in hoods]), n_families)
    neighborhood = rng.permutation(np.repeat(np.arange(len(hoods), dtype=np.int16), hood_counts))
    city_mix = np.array([profile.race_shares.get(r, 0.0) for r in RACES])
    seed_table = np.array([[(h.race or profile.race_shares).get(r, 0.0) for r in RACES] for h in hoods])
    table = race_table(seed_table, hood_counts.astype(float), city_mix * n_families,
                       np.array([h.income_index for h in hoods]), profile.segregation.race_dissimilarity,
                       profile.source)
    # Each neighborhood's families get its races by quota, in random order within the neighborhood.
    race_counts = np.array([largest_remainder(row, count) for row, count in zip(table, hood_counts)])
    by_hood = np.lexsort((rng.random(n_families), neighborhood))
    race = np.empty(n_families, dtype=np.int8)
    race[by_hood] = np.repeat(np.tile(np.arange(len(RACES), dtype=np.int8), len(hoods)), race_counts.ravel())
    return neighborhood, race, table


def _disadvantage(profile: CityProfile, params: PopulationParams, neighborhood: np.ndarray, race: np.ndarray,
                  table: np.ndarray, pupils_per_family: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each family's economic advantage (a latent score) and disadvantaged flag, with the profile's share and
    income segregation."""
    income_index = np.array([h.income_index for h in profile.neighborhoods])
    race_shift = np.array([params.race_income_shift[r] for r in RACES])
    spread = income_spread(table, income_index, race_shift, profile.economically_disadvantaged,
                           profile.segregation.income_dissimilarity, profile.source)
    advantage = spread * income_index[neighborhood] + race_shift[race] + rng.standard_normal(neighborhood.size)
    disadvantaged = _quota(profile, "disadvantaged_share", profile.economically_disadvantaged, -advantage,
                           pupils_per_family, neighborhood)
    return advantage, disadvantaged


def _quota(profile: CityProfile, hood_field: str, city_share: float, latent: np.ndarray, weight: np.ndarray,
           neighborhood: np.ndarray) -> np.ndarray:
    """Flag the highest latent scores up to the share: each neighborhood's own when every neighborhood gives
    one, else the city's."""
    shares = [getattr(h, hood_field) for h in profile.neighborhoods]
    if all(share is not None for share in shares):
        return top_share_by_group(latent, weight, neighborhood, np.array(shares))
    return top_share(latent, weight, city_share)


def social_ties(families: StateArrays, params: PopulationParams, streams: Streams) -> tuple[np.ndarray, np.ndarray]:
    """A sparse, mostly local network of families: (source, target) arrays of directed ties, both ways."""
    rng = streams("population.ties")
    n = len(families)
    by_hood = np.argsort(families.neighborhood, kind="stable")
    starts = np.searchsorted(families.neighborhood[by_hood], families.neighborhood)
    sizes = np.bincount(families.neighborhood)[families.neighborhood]
    k_in, k_out = params.ties_within_neighborhood, params.ties_across_city
    local = by_hood[starts[:, None] + (rng.random((n, k_in)) * sizes[:, None]).astype(np.int64)]
    distant = rng.integers(0, n, size=(n, k_out))
    source = np.repeat(np.arange(n, dtype=np.int32), k_in + k_out)
    target = np.concatenate([local, distant], axis=1).ravel().astype(np.int32)
    keep = source != target
    return np.concatenate([source[keep], target[keep]]), np.concatenate([target[keep], source[keep]])
