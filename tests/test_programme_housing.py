"""Housing stabilization: a grant ends a family's housing instability with its resolution chance, lowers the
unmet rate and raises the attendance and learning of the children helped; a family is helped once a school year;
no office ever helps more children in a year than its capacity."""

from __future__ import annotations

import numpy as np

import simcity_kids as sk
from simcity_kids.scenario import ScenarioConfig

from need_service_checks import months_within_capacity

Z = 4.0  # standard errors


def _config(**levers) -> ScenarioConfig:
    return ScenarioConfig().with_overrides({f"programmes.housing.{k}": v for k, v in levers.items()})


def _helped_families(model: sk.CityModel) -> np.ndarray:
    helped = np.zeros(len(model.families), dtype=bool)
    helped[model.children.family[model.children.enrolled_housing]] = True
    return helped


def test_grants_end_instability_and_raise_attendance_and_learning_of_the_children_helped(large_salem, seed):
    helped_run = sk.CityModel(_config(coverage=0.8), large_salem, seed=seed, years=1)
    baseline = sk.CityModel(None, large_salem, seed=seed, years=1)
    config = helped_run.config.programmes.housing
    assert all(p.quality == 1.0 for p in helped_run.programme("housing").providers)
    unmet = {"helped": [], "baseline": []}
    for month in range(10):  # the school year 0, to the end of June
        for key, model in (("helped", helped_run), ("baseline", baseline)):
            model.step()
            unmet[key].append(model.needs.unmet(model, "housing_instability").mean())
        if month == 0:  # families helped in September were unstable; a grant ends it with the resolution chance
            met = ~helped_run.families.need_housing_instability[_helped_families(helped_run)]
            error = np.sqrt(config.resolution_chance * (1 - config.resolution_chance) / met.size)
            assert met.size > 200 and abs(met.mean() - config.resolution_chance) < Z * error
    assert np.mean(unmet["helped"]) < 0.9 * np.mean(unmet["baseline"])

    children = helped_run.children
    np.testing.assert_array_equal(children.id, baseline.children.id)  # the same children, row for row, in year 0
    pupils = children.enrolled_housing & ~baseline.children.enrolled_housing & (children.age >= 5)
    attendance = (helped_run.needs.yearly_attendance(helped_run) - baseline.needs.yearly_attendance(baseline))[pupils]
    reading = (helped_run.learning.observed(helped_run)[0] - baseline.learning.observed(baseline)[0])[pupils]
    for gain in (attendance, reading):
        assert gain.mean() > Z * gain.std() / np.sqrt(gain.size)
    needs = helped_run.config.needs.housing_instability
    assert attendance.mean() < needs.attendance_penalty  # at most the whole year's penalty
    assert reading.mean() < needs.learning_penalty + 0.01  # plus what the days back add


def test_a_family_is_helped_once_a_year_and_no_office_exceeds_its_capacity(seed):
    model = sk.CityModel(_config(coverage=1.0, budget_usd=100_000.0, waitlist_order="highest_need"), seed=seed,
                         years=2)
    programme = model.programme("housing")
    waited = 0
    helped_before, enrolled_before = _helped_families(model), model.children.enrolled_housing.copy()
    for new_year, year in months_within_capacity(model, programme, 24):
        if new_year:  # a new school year: nobody has been helped yet
            helped_before, enrolled_before = np.zeros_like(helped_before), np.zeros(len(model.children), bool)
        assert int(model.children.enrolled_housing.sum()) == sum(p.enrolled for p in programme.providers)
        newly = model.children.enrolled_housing & ~enrolled_before
        assert not helped_before[model.children.family[newly]].any()
        assert programme.cost_usd[year] <= 100_000.0 * (1 + 1e-12)
        waited += int((model.children.reach_housing & 4).sum())
        helped_before, enrolled_before = _helped_families(model), model.children.enrolled_housing.copy()
    assert waited > 0  # demand exceeded the grants: the test bites
