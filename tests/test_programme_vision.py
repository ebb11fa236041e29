"""Vision screening with glasses: glasses resolve vision needs and raise the reading of the children who got them;
found pupils are referred to the optometrists on the referral path; no provider ever exceeds its capacity."""

from __future__ import annotations

import numpy as np

import simcity_kids as sk
from simcity_kids.scenario import ScenarioConfig

from need_service_checks import months_within_capacity

Z = 4.0  # standard errors


def _config(**levers) -> ScenarioConfig:
    return ScenarioConfig().with_overrides({f"programmes.vision.{key}": value for key, value in levers.items()})


def _rows_of(model: sk.CityModel, ids: np.ndarray) -> np.ndarray:
    """Rows of these children (ids only grow: leavers drop out, newborns are appended)."""
    assert (np.diff(model.children.id) > 0).all()
    rows = np.searchsorted(model.children.id, ids)
    assert (model.children.id[rows] == ids).all()
    return rows


def test_glasses_resolve_vision_needs_and_raise_the_reading_of_the_children_who_got_them(seed):
    with_glasses, without = sk.CityModel(_config(coverage=1.0), seed=seed, years=2), sk.CityModel(seed=seed, years=2)
    with_glasses.step()
    without.step()  # September of year 0: screening, then glasses at school
    children, config = with_glasses.children, with_glasses.config.programmes.vision
    assert all(p.quality == 1.0 for p in with_glasses.programme("vision").providers)
    served = np.flatnonzero(children.enrolled_vision)  # at school, and by the optometrist
    assert served.size > 150
    worn = ~children.need_vision[served]  # every one of them had the need when served
    share, error = worn.mean(), np.sqrt(config.resolution_chance * (1 - config.resolution_chance) / worn.size)
    assert abs(share - config.resolution_chance) < Z * error

    ids = children.id[served[worn]]
    for _ in range(20):  # to the end of May of year 1: 19 school months later
        with_glasses.step()
        without.step()
    ids = ids[np.isin(ids, with_glasses.children.id)]  # 18-year-olds left in September
    gain = (with_glasses.learning.observed(with_glasses)[0][_rows_of(with_glasses, ids)]
            - without.learning.observed(without)[0][_rows_of(without, ids)])
    full = with_glasses.config.needs.vision.learning_penalty * 19 / 10  # had the need stayed unmet all along
    assert 0.4 * full < gain.mean() < full  # less: some got glasses or lost the need in the baseline too
    assert gain.mean() > Z * gain.std() / np.sqrt(gain.size)


def test_the_referral_path_refers_found_pupils_who_go_first_at_the_optometrists(seed):
    model = sk.CityModel(_config(coverage=1.0, glasses_at_school=False), seed=seed, years=1)
    programme, children, config = model.programme("vision"), model.children, model.config.programmes.vision
    pupils_in_need = int((children.need_vision & (children.age >= 5)).sum())
    model.step()
    made = model.referrals.made["vision_screening", "vision"]
    expected = config.sensitivity * pupils_in_need
    assert abs(made - expected) < Z * np.sqrt(expected * (1 - config.sensitivity))
    assert model.referrals.completed["vision_screening", "vision"] > 0.4 * made
    assert sum(p.funded_slots for p in programme.providers) > 0  # slots for the referred, beyond the optometrist's
    assert not children.referred_vision.any()  # every referral followed up got a place and was closed
    cost = programme.cost_usd[0]
    screening = programme.screenings * model.child_weight * config.screening_cost_usd
    slots = sum(p.funded_slots for p in programme.providers) * model.child_weight * config.cost_per_slot_usd
    assert np.isclose(cost, screening + slots)


def test_no_optometrist_ever_exceeds_capacity_and_the_budget_holds(seed):
    budget = 40_000.0
    for glasses_at_school in (True, False):
        model = sk.CityModel(_config(coverage=1.0, glasses_at_school=glasses_at_school, budget_usd=budget,
                                     waitlist_order="highest_need"), seed=seed, years=2)
        programme = model.programme("vision")
        waited = 0
        for _, year in months_within_capacity(model, programme, 24):
            waited += int((model.children.reach_vision & 4).sum())
            assert programme.cost_usd[year] <= budget * (1 + 1e-12)
        assert waited > 0  # demand exceeded the slots: the test bites
