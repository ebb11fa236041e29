"""Food support: a benefit held for the school year cuts the odds of food insecurity by about a third, lowers the
unmet rate and raises the attendance and learning of the children served; a family is served once a year and
its cost is shared by its children; no provider ever serves more children in a year than its capacity."""

from __future__ import annotations

import numpy as np

import simcity_kids as sk
from simcity_kids.scenario import ScenarioConfig

from need_service_checks import months_within_capacity

Z = 4.0  # standard errors


def _config(**levers) -> ScenarioConfig:
    return ScenarioConfig().with_overrides({f"programmes.food.{k}": v for k, v in levers.items()})


def _served_families(model: sk.CityModel) -> np.ndarray:
    served = np.zeros(len(model.families), dtype=bool)
    served[model.children.family[model.children.enrolled_food]] = True
    return served


def test_the_benefit_cuts_the_odds_of_food_insecurity_and_raises_attendance_and_learning(large_salem, seed):
    served_run = sk.CityModel(_config(coverage=0.8), large_salem, seed=seed, years=1)
    baseline = sk.CityModel(None, large_salem, seed=seed, years=1)
    config = served_run.config.programmes.food
    assert all(p.quality == 1.0 for p in served_run.programme("food").providers)
    insecure = {"served": [], "baseline": []}
    unmet = {"served": [], "baseline": []}
    for month in range(10):  # the school year 0, to the end of June
        for key, model in (("served", served_run), ("baseline", baseline)):
            model.step()
            insecure[key].append(model.families.need_food_insecurity.copy())
            unmet[key].append(model.needs.unmet(model, "food_insecurity").mean())
        if month == 0:  # families placed in September: the benefit meets the need with the monthly chance
            placed = _served_families(served_run)
            met = ~served_run.families.need_food_insecurity[placed]
            error = np.sqrt(config.resolution_chance * (1 - config.resolution_chance) / met.size)
            assert met.size > 1000 and abs(met.mean() - config.resolution_chance) < Z * error
    assert np.mean(unmet["served"]) < 0.95 * np.mean(unmet["baseline"])

    # Families served only in the scenario, months 4 to 10 of the year: about the sourced odds ratio of 2/3
    only = _served_families(served_run) & ~_served_families(baseline)
    share = {key: np.array(flags)[3:, only].mean() for key, flags in insecure.items()}
    odds_ratio = (share["served"] / (1 - share["served"])) / (share["baseline"] / (1 - share["baseline"]))
    assert 0.55 < odds_ratio < 0.8, odds_ratio

    children = served_run.children
    np.testing.assert_array_equal(children.id, baseline.children.id)  # the same children, row for row, in year 0
    pupils = children.enrolled_food & ~baseline.children.enrolled_food & (children.age >= 5)
    attendance = (served_run.needs.yearly_attendance(served_run) - baseline.needs.yearly_attendance(baseline))[pupils]
    reading = (served_run.learning.observed(served_run)[0] - baseline.learning.observed(baseline)[0])[pupils]
    for gain in (attendance, reading):
        assert gain.mean() > Z * gain.std() / np.sqrt(gain.size)
    # no more than the days the need no longer costs them (attendance is set before the month's benefit)
    fewer_months = np.subtract(*(np.array(insecure[key], dtype=float) for key in ("baseline", "served")))
    penalty = served_run.config.needs.food_insecurity.attendance_penalty
    assert attendance.mean() < penalty * fewer_months[:, children.family[pupils]].mean()


def test_a_family_is_served_once_a_year_and_no_provider_exceeds_its_capacity(seed):
    model = sk.CityModel(_config(coverage=1.0, budget_usd=300_000.0, waitlist_order="lowest_income"), seed=seed,
                         years=2)
    programme = model.programme("food")
    waited = 0
    served_before, enrolled_before = _served_families(model), model.children.enrolled_food.copy()
    for new_year, year in months_within_capacity(model, programme, 24):
        if new_year:  # a new school year: nobody has been served yet
            served_before, enrolled_before = np.zeros_like(served_before), np.zeros(len(model.children), bool)
        assert int(model.children.enrolled_food.sum()) == sum(p.enrolled for p in programme.providers)
        newly = model.children.enrolled_food & ~enrolled_before
        assert not served_before[model.children.family[newly]].any()  # the family already holds the benefit
        assert programme.cost_usd[year] <= 300_000.0 * (1 + 1e-12)
        waited += int((model.children.reach_food & 4).sum())
        served_before, enrolled_before = _served_families(model), model.children.enrolled_food.copy()
    assert waited > 0  # demand exceeded the slots: the test bites


def test_a_family_costs_the_same_however_many_children_share_it(seed):
    model = sk.CityModel(_config(coverage=1.0), seed=seed, years=1)
    programme, children = model.programme("food"), model.children
    eligible = programme.eligible(model)
    families = np.unique(children.family[eligible]).size
    assert families < eligible.sum()  # some families have several eligible children
    per_child = programme.slot_cost(model, eligible)
    assert np.isclose(per_child * eligible.sum(), model.config.programmes.food.cost_per_slot_usd * families)
