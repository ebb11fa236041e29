"""Behavioral health in schools: treatment meets needs with its resolution chance, lowers the unmet rate and
raises the attendance, learning and social-emotional skill of the treated; clinicians are hired whole and no
agency ever treats more pupils in a year than its capacity."""

from __future__ import annotations

import numpy as np

import simcity_kids as sk
from simcity_kids.scenario import ScenarioConfig

from need_service_checks import months_within_capacity

Z = 4.0  # standard errors


def _config(**levers) -> ScenarioConfig:
    return ScenarioConfig().with_overrides({f"programmes.behavioral_health.{k}": v for k, v in levers.items()})


def test_treatment_meets_needs_and_raises_attendance_and_learning_of_the_treated(large_salem, seed):
    treated_run = sk.CityModel(_config(coverage=0.8), large_salem, seed=seed, years=1)
    baseline = sk.CityModel(None, large_salem, seed=seed, years=1)
    children, config = treated_run.children, treated_run.config.programmes.behavioral_health
    assert all(p.quality == 1.0 for p in treated_run.programme("behavioral_health").providers)
    unmet = {"treated": [], "baseline": []}
    for month in range(10):  # the school year 0, to the end of June
        for key, model in (("treated", treated_run), ("baseline", baseline)):
            model.step()
            unmet[key].append(model.needs.unmet(model, "behavioral_health")[model.children.age >= 5].mean())
        if month == 0:  # those placed in September had the need; a course meets it with the resolution chance
            placed = np.flatnonzero(children.enrolled_behavioral_health)
            met = ~children.need_behavioral_health[placed]
            error = np.sqrt(config.resolution_chance * (1 - config.resolution_chance) / placed.size)
            assert placed.size > 2000 and abs(met.mean() - config.resolution_chance) < Z * error
    assert np.mean(unmet["treated"]) < 0.95 * np.mean(unmet["baseline"])

    np.testing.assert_array_equal(children.id, baseline.children.id)  # the same children, row for row, in year 0
    treated = children.enrolled_behavioral_health & ~baseline.children.enrolled_behavioral_health
    np.testing.assert_allclose((children.social_emotional - baseline.children.social_emotional)[treated],
                               config.social_emotional_sd, rtol=1e-5)
    attendance = (treated_run.needs.yearly_attendance(treated_run)
                  - baseline.needs.yearly_attendance(baseline))[treated]
    reading = (treated_run.learning.observed(treated_run)[0] - baseline.learning.observed(baseline)[0])[treated]
    needs = treated_run.config.needs.behavioral_health
    for gain in (attendance, reading):
        assert gain.mean() > Z * gain.std() / np.sqrt(gain.size)
    # at most the whole penalty for the whole year, plus the social-emotional skill's share of attendance
    assert attendance.mean() < needs.attendance_penalty + config.social_emotional_sd * 0.01
    assert reading.mean() < needs.learning_penalty + 0.01


def test_clinicians_are_hired_whole_and_no_agency_exceeds_its_capacity(seed):
    model = sk.CityModel(_config(coverage=1.0, budget_usd=500_000.0, waitlist_order="highest_need"), seed=seed,
                         years=2)
    programme, config = model.programme("behavioral_health"), model.config.programmes.behavioral_health
    waited = 0
    for new_year, year in months_within_capacity(model, programme, 24):
        assert int(model.children.enrolled_behavioral_health.sum()) == sum(p.enrolled for p in programme.providers)
        waited += int((model.children.reach_behavioral_health & 4).sum())
        if new_year:
            slots = sum(p.funded_slots for p in programme.providers)
            clinicians, rest = divmod(slots, config.caseload)
            assert clinicians > 0 and rest == 0
            assert np.isclose(programme.cost_usd[year], slots * model.child_weight * config.cost_per_slot_usd)
            assert programme.cost_usd[year] <= 500_000.0
    assert waited > 0  # demand exceeded the clinicians' caseloads: the test bites
