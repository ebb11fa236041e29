"""Service navigation: guide users learn of every programme, take up more slots, and are referred for their needs.

Summer programming is funded for every eligible child, so that its capacity does not hide the guide's effect on
who applies."""

from __future__ import annotations

import numpy as np
import pytest

import simcity_kids as sk
from simcity_kids.programmes.base import ENROLLED
from simcity_kids.scenario import ScenarioConfig
from conftest import generated

JUNE = 9  # month of the run: summer places are allocated in June of school year 0
BASE_COMPLETION = 0.55  # cabinet.referral_completion without coordination


def _to_june(seed: int, **guide) -> sk.CityModel:
    overrides = {"programmes.summer.coverage": 1.0, **{f"programmes.navigation.{k}": v for k, v in guide.items()}}
    model = sk.CityModel(generated(overrides=overrides), "salem", seed=seed, years=1)  # awareness not yet spread
    while model.month <= JUNE:
        model.step()
    return model


@pytest.fixture(scope="module")
def runs() -> tuple[sk.CityModel, sk.CityModel]:
    from conftest import TEST_SEED

    return _to_june(TEST_SEED), _to_june(TEST_SEED, coverage=0.5)


def test_guide_users_learn_of_every_programme_outside_school(runs):
    without, guide = runs
    users = guide.families.navigation_user
    with_children = np.bincount(guide.children.family, minlength=len(guide.families)) > 0
    assert users.sum() == round(0.5 * with_children.sum())
    open_to_families = [p.name for p in guide.programmes if not p.school_based]
    assert {"summer", "vision", "food", "housing", "after_school", "preschool"} <= set(open_to_families)
    for name in open_to_families:
        aware_with, aware_without = (getattr(m.families, f"aware_{name}")[users].mean() for m in (guide, without))
        assert aware_with > 0.95 and aware_with > aware_without + 0.08, name


def test_guide_users_enrol_more_in_summer_programmes(runs):
    without, guide = runs
    np.testing.assert_array_equal(without.children.id, guide.children.id)
    users = guide.families.navigation_user[guide.children.family]
    enrolled = {name: (m.children.enrolled_summer[users].sum(), m.children.enrolled_summer[~users].sum())
                for name, m in (("without", without), ("guide", guide))}
    multiplier = guide.config.programmes.navigation.takeup_multiplier
    assert enrolled["guide"][0] > 0.8 * multiplier * enrolled["without"][0]  # more awareness, lower search cost
    assert abs(enrolled["guide"][1] / enrolled["without"][1] - 1) < 0.1  # others only hear of it from users


def test_takeup_of_guide_users_is_multiplied(runs):
    _, guide = runs
    summer = guide.programme("summer")
    chance = guide.awareness.takeup_by_child(guide, summer.nearest_minutes)
    by_neighborhood = guide.awareness.takeup_probability(guide, summer.nearest_minutes)[guide.children.neighborhood]
    users = guide.families.navigation_user[guide.children.family]
    multiplier = guide.config.programmes.navigation.takeup_multiplier
    np.testing.assert_allclose(chance[users], np.minimum(by_neighborhood[users] * multiplier, 1), rtol=1e-6)
    np.testing.assert_array_equal(chance[~users], by_neighborhood[~users])


def test_users_with_an_unmet_need_are_referred_and_the_guide_is_costed(seed):
    config = ScenarioConfig().with_overrides({"programmes.navigation.coverage": 0.6,
                                              "programmes.navigation.phase_in_years": 2})
    model = sk.CityModel(config, "salem", seed=seed, years=2)
    model.step()
    first_users = model.families.navigation_user.copy()
    referred_rows = []
    for _ in range(11):
        before = {p.name: getattr(model.children, p.referred).copy() for p in model.programmes if p.need}
        model.step()
        for name, was in before.items():
            referred_rows.append(np.flatnonzero(getattr(model.children, model.programme(name).referred) & ~was))
    referred = np.unique(np.concatenate(referred_rows))
    assert referred.size > 100
    assert model.families.navigation_user[model.children.family[referred]].all()  # only users' children
    model.step()  # September of year 1: the second phase-in step keeps last year's users
    users = model.families.navigation_user
    with_children = np.bincount(model.children.family, minlength=len(model.families)) > 0
    assert users.sum() == round(0.6 * with_children.sum())
    assert users[first_users & with_children].all()
    model.run()
    frame = model.outcomes.table()
    rows = frame[(frame.group_kind == "referral") & frame.group.astype(str).str.startswith("navigation->")]
    made, completed = (rows[rows.metric == m].value.sum() for m in ("referrals_made", "referrals_completed"))
    c = config.programmes.navigation
    assert abs(completed / made - (BASE_COMPLETION + c.follow_up)) < 0.04
    reached = frame[frame.metric == "navigation_families_reached"].set_index("year").value
    cost = frame[(frame.metric == "cost_usd") & (frame.group == "navigation")].set_index("year").value
    np.testing.assert_allclose(cost, c.fixed_cost_usd + c.cost_per_slot_usd * reached)
    served = frame[(frame.metric == "navigation_enrolled") & (frame.group_kind == "all")].set_index("year").value
    assert served[1] > 1.8 * served[0]
    assert ((model.children.reach_navigation & ENROLLED) == 0).all()  # reset each August


def test_user_families_first_look_in_a_month_of_the_school_year_with_geometric_chances(runs):
    """Each user family looks at the guide each month with chance monthly_use until its first look: the share
    first looking in month k of the school year (0 = September) is p (1 - p)^k, and (1 - p)^12 never look."""
    _, guide = runs
    navigation = guide.programme("navigation")
    p = navigation.config.monthly_use
    users = np.diff(navigation._looks_by_month, append=navigation._looks.size)  # first looks by month, 12 = never
    expected = np.array([p * (1 - p) ** k for k in range(12)] + [(1 - p) ** 12])
    share = users / users.sum()
    tolerance = 4 * np.sqrt(expected * (1 - expected) / users.sum())  # four binomial standard errors
    assert np.all(np.abs(share - expected) <= tolerance), (share, expected)
