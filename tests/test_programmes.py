"""The programme interface, proved by universal summer programming: effect, capacity, waitlist, cost."""

from __future__ import annotations

import numpy as np
import pytest

import simcity_kids as sk
from simcity_kids.core.allocation import allocate
from simcity_kids.scenario import load_scenario
from conftest import generated

JUNE_OF_YEAR_0, END_OF_AUGUST = 10, 12  # steps from September of year 0 to the end of the month


def _run_months(scenario: str, months: int, seed: int) -> sk.CityModel:
    model = sk.CityModel(scenario, seed=seed, years=2)
    for _ in range(months):
        model.step()
    return model


def test_enrolled_children_gain_more_over_summer_than_without_the_programme(seed):
    with_programme = _run_months("universal_summer", JUNE_OF_YEAR_0, seed)
    without = _run_months("baseline", JUNE_OF_YEAR_0, seed)
    enrolled = np.flatnonzero(with_programme.children.enrolled_summer)
    assert enrolled.size > 500
    start_with, start_without = (m.learning.observed(m)[0][enrolled].copy() for m in (with_programme, without))
    for _ in range(END_OF_AUGUST - JUNE_OF_YEAR_0):
        with_programme.step()
        without.step()
    change_with = with_programme.learning.observed(with_programme)[0][enrolled] - start_with
    change_without = without.learning.observed(without)[0][enrolled] - start_without
    gain = float(change_with.mean() - change_without.mean())
    assert gain > 0.02  # effect 0.064 SD at full dose, scaled by attendance
    assert gain < with_programme.config.programmes.summer.effect_sd


def test_no_provider_ever_exceeds_capacity(seed):
    config, _ = load_scenario("universal_summer")
    oversubscribed = config.with_overrides({"programmes.summer.coverage": 1.0,
                                            "programmes.summer.waitlist_order": "highest_need",
                                            "cabinet.champion_loss_probability": 1.0})
    for scenario in ("baseline", oversubscribed):
        model = sk.CityModel(scenario, seed=seed, years=6)
        for _ in range(model.years * 12):
            month = model.calendar_month
            model.step()
            for provider in model.providers:
                assert 0 <= provider.enrolled <= provider.capacity, provider.name
            if month in (6, 7, 8):
                summer = [p for p in model.providers if p.type == "summer"]
                assert int(model.children.enrolled_summer.sum()) == sum(p.enrolled for p in summer)
        frame = model.outcomes.table()
        waitlisted = frame[(frame.metric == "summer_waitlisted") & (frame.group_kind == "all")].value
        assert (waitlisted > 0).any()  # demand exceeded capacity at least once: the test bites


@pytest.mark.parametrize("offset", range(5))
def test_allocation_respects_capacity_and_waitlist_order(seed, offset):
    rng = np.random.default_rng(seed + offset)
    applicants, providers = 400, 5
    choices = np.stack([rng.permutation(providers)[:3] for _ in range(applicants)])
    priority = rng.random(applicants)
    capacity = rng.integers(0, 60, providers)
    placed = allocate(choices, priority, capacity)
    counts = np.bincount(placed[placed >= 0], minlength=providers)
    assert (counts <= capacity).all()
    # Nobody unplaced may outrank someone placed at their first choice.
    for provider in range(providers):
        first_choice = choices[:, 0] == provider
        placed_here = first_choice & (placed == provider)
        unplaced = first_choice & (placed < 0)
        if placed_here.any() and unplaced.any():
            assert priority[unplaced].min() > priority[placed_here].max()
    # A slot is left empty only if nobody who listed that provider is still waiting.
    for provider in np.flatnonzero(counts < capacity):
        assert not ((choices == provider).any(axis=1) & (placed < 0)).any()


def test_cost_follows_funded_slots_and_phase_in(seed):
    result = sk.run("universal_summer", years=3, seed=seed)
    frame = result.outcomes
    cost = frame[(frame.metric == "cost_usd") & (frame.group == "summer")].set_index("year").value
    assert cost[0] > 0 and cost[1] > cost[0]  # two-year phase-in
    baseline = sk.run("baseline", years=1, seed=seed).outcomes
    assert baseline[(baseline.metric == "cost_usd") & (baseline.group == "total")].value.sum() == 0
    per_child = frame[(frame.metric == "cost_per_child_served_usd") & (frame.group == "summer")].value
    assert (per_child > 0).all()


def test_summer_days_attended_follow_the_binomial_dose(seed):
    model = _run_months("universal_summer", JUNE_OF_YEAR_0, seed)
    config = model.config.programmes.summer
    days = model.children.summer_days[model.children.enrolled_summer].astype(float)
    mean, var = config.days_offered * config.attendance_probability, config.days_offered * (
        config.attendance_probability * (1 - config.attendance_probability))
    assert abs(days.mean() - mean) < 4 * np.sqrt(var / days.size)
    assert abs(days.var() / var - 1) < 0.15
    assert days.min() >= 0 and days.max() <= config.days_offered


def _enrol_in_june(overrides: dict, seed: int) -> sk.CityModel:
    model = sk.CityModel(generated("universal_summer", overrides), seed=seed, years=1)  # awareness still spreading
    for _ in range(JUNE_OF_YEAR_0):
        model.step()
    return model


@pytest.mark.parametrize("targeting", ["universal", "income", "need", "neighborhoods"])
def test_targeting_decides_who_is_eligible(targeting, seed):
    overrides = {"programmes.summer.targeting": targeting,
                 "programmes.summer.neighborhoods": ["The Point"] if targeting == "neighborhoods" else []}
    model = _enrol_in_june(overrides, seed)
    children, programme = model.children, model.programme("summer")
    enrolled = children.enrolled_summer
    assert enrolled.any()
    ages = children.age[enrolled]
    assert ages.min() >= 5 and ages.max() <= 14
    eligible = programme.eligible(model)
    if targeting != "need":  # scores moved after June's allocation; needs and places did not
        assert not (enrolled & ~eligible).any()
    in_band = (children.age >= 5) & (children.age <= 14)
    if targeting == "universal":
        assert eligible.sum() == in_band.sum()
    elif targeting == "income":
        assert children.disadvantaged[enrolled].all() and eligible.sum() < in_band.sum()
    elif targeting == "need":
        below = np.minimum(children.reading, children.math) < programme.below_grade_level + 0.2  # June's learning
        assert ((model.needs.unmet_count(model) > 0) | below)[enrolled].all()
    else:
        point = model.city.neighborhood_index("The Point")
        assert (children.neighborhood[enrolled] == point).all()


@pytest.mark.parametrize("order", ["lowest_income", "highest_need"])
def test_waitlist_order_puts_the_chosen_children_first(order, seed):
    config, _ = load_scenario("baseline")  # existing slots only: demand far exceeds capacity
    model = sk.CityModel(config.with_overrides({"programmes.summer.waitlist_order": order}), seed=seed, years=1)
    lottery = sk.CityModel("baseline", seed=seed, years=1)
    for _ in range(JUNE_OF_YEAR_0):
        model.step()
        lottery.step()
    if order == "lowest_income":
        key = lambda m: m.children.income_z  # noqa: E731
        assert key(model)[model.children.enrolled_summer].mean() < key(lottery)[lottery.children.enrolled_summer].mean()
    else:
        key = lambda m: m.needs.unmet_count(m)  # noqa: E731
        assert key(model)[model.children.enrolled_summer].mean() > key(lottery)[lottery.children.enrolled_summer].mean()


def test_takeup_needs_awareness_and_falls_with_travel_time(seed):
    model = _enrol_in_june({"programmes.summer.coverage": 1.0}, seed)
    minutes = np.array([0.0, 10.0, 30.0, 60.0])
    chance = model.awareness.takeup_probability(model, minutes)
    assert (np.diff(chance) < 0).all() and chance[0] <= 1
    children, families = model.children, model.families
    unaware = ~families.aware_summer[children.family]
    assert not (children.enrolled_summer & unaware).any()
    aware_share_before = families.aware_summer.mean()
    for _ in range(3):
        model.step()
    assert families.aware_summer.mean() > aware_share_before  # awareness spreads over social ties


def test_aware_tie_counts_kept_month_by_month_equal_a_fresh_count(seed):
    """Word of mouth keeps each family's aware ties up to date from the news; referrals and navigation guides
    make families aware too, and the kept count must still be what the ties say."""
    model = _run_months("by_all_means", 14, seed)
    spreading = [p for p in model.programmes if not p.school_based]
    assert len(spreading) >= 5
    for programme in spreading:
        aware = getattr(model.families, f"aware_{programme.name}")
        fresh = (model.awareness.ties @ aware.astype(np.float32)).astype(np.int32)
        kept, unaware = model.awareness.aware_ties(programme.name, aware)
        np.testing.assert_array_equal(kept, fresh)
        np.testing.assert_array_equal(unaware, np.flatnonzero(~aware))


def _summer_of_year_0(overrides: dict, seed: int) -> sk.CityModel:
    """Universal summer programming in Salem (every summer provider of quality 1), to the end of August."""
    model = sk.CityModel(generated("universal_summer", overrides), seed=seed, years=1)  # no earlier boosts
    assert all(p.quality == 1.0 for p in model.programme("summer").providers)
    for _ in range(END_OF_AUGUST):
        model.step()
    return model


def test_summer_effect_grows_with_days_attended_up_to_the_high_attender_dose(seed):
    """Common random numbers: with the effect switched off, everything else (enrolment, days, noise, drift)
    is drawn alike, so each enrolled child's difference is the programme's effect, exactly."""
    with_effect = _summer_of_year_0({}, seed)
    without = _summer_of_year_0({"programmes.summer.effect_sd": 0.0}, seed)
    children, config = with_effect.children, with_effect.config.programmes.summer
    np.testing.assert_array_equal(children.enrolled_summer, without.children.enrolled_summer)
    # A summer place also keeps other programmes' boosts from fading (MODEL_SPEC 3.5): compare the children
    # who have none, whose difference is the summer effect alone.
    no_other_boost = (without.children.boost_reading == 0) & (without.children.boost_math == 0)
    enrolled = children.enrolled_summer & no_other_boost
    assert enrolled.sum() > 0.5 * children.enrolled_summer.sum()
    days = children.summer_days[enrolled].astype(float)
    gain = (with_effect.learning.observed(with_effect)[0] - without.learning.observed(without)[0])[enrolled]
    np.testing.assert_allclose(gain, config.effect_sd * np.minimum(days / config.high_attender_days, 1.0),
                               atol=1e-6)
    by_days = {d: gain[days == d].mean() for d in np.unique(days)}
    below = [by_days[d] for d in sorted(by_days) if d <= config.high_attender_days]
    above = [by_days[d] for d in sorted(by_days) if d >= config.high_attender_days]
    assert len(below) > 5 and len(above) > 5  # both sides of the dose are seen: the test bites
    assert (np.diff(below) > 0).all() and np.ptp(above) < 1e-6


def test_the_summer_effect_comes_on_top_of_the_summer_drift(seed):
    """Enrolled children still drift with family income over the summer: the programme's effect, measured
    against similar children without a programme, is added to it, not put in its place."""
    weak, strong = (_summer_of_year_0({"programmes.summer.effect_sd": 0.0, "learning.summer_loss": loss}, seed)
                    for loss in ("weak", "strong"))
    learning, children = weak.learning.params, weak.children
    enrolled = children.enrolled_summer
    assert enrolled.sum() > 500
    difference = (strong.learning.observed(strong)[0] - weak.learning.observed(weak)[0])[enrolled]
    expected = (learning.summer_drift_strong - learning.summer_drift_weak) * children.income_z[enrolled]
    np.testing.assert_allclose(difference, expected, atol=1e-5)
