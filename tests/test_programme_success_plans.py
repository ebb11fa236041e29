"""Success plans (City Connects): a yearly review finds needs, refers them, follows up; staff x caseload is the reach.

The direction tests use a city whose families rarely know of the need services (low starting awareness, no word
of mouth) while the services have room (coverage 1): what a plan adds is the referral that brings a child to a
service, so there it shows clearly. Where services are full, plans only change who gets the slots."""

from __future__ import annotations

import numpy as np
import pytest

import simcity_kids as sk
from simcity_kids.programmes.base import APPLIED, ENROLLED, WAITED
from simcity_kids.programmes.success_plans import BIT, FINDINGS, FOLLOW_UP_MONTHS
from simcity_kids.rules.needs import NEEDS
from simcity_kids.scenario import ScenarioConfig

NEED_SERVICES = ("vision", "behavioral_health", "food", "housing")
UNKNOWN_SERVICES = {"access.initial_awareness": 0.1, "access.initial_awareness_parent_ba": 0.0,
                    "access.spread_per_tie": 0.0, **{f"programmes.{s}.coverage": 1.0 for s in NEED_SERVICES}}
JUNE, AUGUST = 9, 11  # months of the run in school year 0
BASE_COMPLETION = 0.55  # cabinet.referral_completion without coordination


class Year:
    """One school year of Salem, stepped to June (plans and reach still open), then to the August records."""

    def __init__(self, seed: int, **plans):
        overrides = {**UNKNOWN_SERVICES, **{f"programmes.success_plans.{k}": v for k, v in plans.items()}}
        self.model = model = sk.CityModel(ScenarioConfig().with_overrides(overrides), "salem", seed=seed, years=1)
        model.step()  # September: the review
        self.k8 = (model.children.age >= 5) & (model.children.age <= 13)
        unmet = []
        referrals_made = [sum(model.referrals.made.values())]
        while model.month <= JUNE:
            model.step()
            unmet.append(model.needs.unmet_count(model))
            referrals_made.append(sum(model.referrals.made.values()))
        self.referrals_by_month = np.diff(referrals_made)  # October ... June
        self.unmet = np.mean(unmet, axis=0)  # mean unmet needs per child, October to June
        self.plan = model.children.success_plan.copy()
        self.found = model.children.success_plan_found.copy()
        self.served = sum((getattr(model.children, model.programme(s).reach) & ENROLLED) > 0 for s in NEED_SERVICES)
        while model.month <= AUGUST:
            model.step()
        frame = model.outcomes.table()
        rows = frame[(frame.group_kind == "referral") & frame.group.astype(str).str.startswith("success_plans->")]
        self.made = rows[rows.metric == "referrals_made"].value.sum()
        self.completed = rows[rows.metric == "referrals_completed"].value.sum()
        self.frame = frame


@pytest.fixture(scope="module")
def runs() -> dict[str, Year]:
    from conftest import TEST_SEED

    return {"none": Year(TEST_SEED), "coordinators": Year(TEST_SEED, coverage=1.0),
            "counselors": Year(TEST_SEED, coverage=1.0, staffing="counselors")}


def test_plans_complete_more_referrals_and_meet_more_needs(runs):
    none, plans = runs["none"], runs["coordinators"]
    assert (plans.plan == plans.k8).all()  # every K-8 pupil, as in Salem
    follow_up = plans.model.config.programmes.success_plans.follow_up
    assert plans.completed > 1000 and none.completed == 0
    assert abs(plans.completed / plans.made - (BASE_COMPLETION + follow_up)) < 0.04
    # Follow-up: January and April re-refer what is still unmet; nothing in the months between.
    months = [10, 11, 12, 1, 2, 3, 4, 5, 6]
    follow_ups = {m: n for m, n in zip(months, plans.referrals_by_month)}
    assert all(follow_ups[m] > 0 for m in FOLLOW_UP_MONTHS)
    assert sum(n for m, n in follow_ups.items() if m not in FOLLOW_UP_MONTHS) == 0
    # The same children (same seed, same population) get more services and carry fewer unmet needs.
    np.testing.assert_array_equal(none.model.children.id, plans.model.children.id)
    assert plans.served[plans.k8].sum() > 1.4 * none.served[none.k8].sum()
    assert none.unmet[plans.plan].mean() - plans.unmet[plans.plan].mean() > 0.015
    frame = plans.frame
    found = frame[(frame.metric == "success_plan_needs_found") & (frame.group_kind == "all")].value.item()
    assert found == pytest.approx((plans.found[plans.plan] > 0).sum() * plans.model.child_weight)


def test_a_review_finds_what_a_child_has_with_the_detection_chance(runs):
    plans = runs["coordinators"]
    model, c = plans.model, plans.model.config.programmes.success_plans
    for finding in FINDINGS[:len(NEEDS)]:
        found = (plans.found[plans.plan] & BIT[finding]) > 0
        frame = plans.frame
        recorded = frame[frame.metric == f"success_plan_found_{finding}"].value
        assert recorded.item() == found.sum() * model.child_weight
    # Of the needs pupils had at the review, the share found is the detection chance.
    september = sk.CityModel(model.config, "salem", seed=model.seed, years=1)
    review = september.programme("success_plans")
    for module in september.modules[:september.modules.index(review) + 1]:
        if module is review:
            had = {need: september.needs.unmet(september, need).copy() for need in NEEDS}
        module.step(september)
    plan, found = september.children.success_plan, september.children.success_plan_found
    with_need = sum(int((had[n] & plan).sum()) for n in NEEDS)
    detected = sum(int((had[n] & plan & ((found & BIT[n]) > 0)).sum()) for n in NEEDS)
    assert abs(detected / with_need - c.detection) < 4 * np.sqrt(c.detection * (1 - c.detection) / with_need) + 0.02


def test_counselors_carry_fewer_plans_find_less_and_do_less(runs):
    none, coordinators, counselors = runs["none"], runs["coordinators"], runs["counselors"]
    c = counselors.model.config.programmes.success_plans
    salem = counselors.model.city
    k8_counselors = sum(s.counselors for s in salem.schools if s.level in ("elementary", "middle"))
    assert counselors.plan.sum() == k8_counselors * c.counselor_caseload < coordinators.plan.sum()
    assert abs(counselors.completed / counselors.made - (BASE_COMPLETION + c.counselor_follow_up)) < 0.04
    per_plan = {name: np.unpackbits(run.found[run.plan]).sum() / run.plan.sum()
                for name, run in (("coordinators", coordinators), ("counselors", counselors))}
    assert per_plan["counselors"] / per_plan["coordinators"] == pytest.approx(
        c.counselor_detection / c.detection, abs=0.1)
    gain = {name: (none.unmet[none.k8].mean() - run.unmet[run.k8].mean(), run.served[run.k8].sum())
            for name, run in (("coordinators", coordinators), ("counselors", counselors))}
    assert 0 < gain["counselors"][0] < gain["coordinators"][0]
    assert none.served[none.k8].sum() < gain["counselors"][1] < gain["coordinators"][1]
    cost = {name: run.frame[(run.frame.metric == "cost_usd") & (run.frame.group == "success_plans")].value.item()
            for name, run in (("coordinators", coordinators), ("counselors", counselors))}
    assert cost["counselors"] == pytest.approx(k8_counselors * c.counselor_caseload * c.counselor_cost_usd)
    assert cost["counselors"] < cost["coordinators"]


@pytest.mark.parametrize("caseload", [100, 150])
def test_coverage_is_coordinators_times_caseload(caseload, seed):
    """A budget for six coordinators carries six caseloads; the wanted pupils beyond them are turned away."""
    cost = 762.0
    config = ScenarioConfig().with_overrides({"programmes.success_plans.coverage": 1.0,
                                              "programmes.success_plans.caseload": caseload,
                                              "programmes.success_plans.budget_usd": 6 * caseload * cost})
    model = sk.CityModel(config, "salem", seed=seed, years=1)
    model.step()
    children = model.children
    assert children.success_plan.sum() == 6 * caseload
    assert model.programme("success_plans").cost_usd[0] == pytest.approx(6 * caseload * cost)
    ages = children.age[children.success_plan]
    assert ages.min() >= 5 and ages.max() <= 13
    reach = children.reach_success_plans
    k8 = (children.age >= 5) & (children.age <= 13)
    assert ((reach & APPLIED) > 0).sum() == k8.sum()
    assert ((reach & WAITED) > 0).sum() == k8.sum() - 6 * caseload


def test_plans_at_half_coverage_go_first_to_the_lowest_incomes_when_asked(seed):
    config = ScenarioConfig().with_overrides({"programmes.success_plans.coverage": 0.5,
                                              "programmes.success_plans.waitlist_order": "lowest_income"})
    model = sk.CityModel(config, "salem", seed=seed, years=1)
    model.step()
    children = model.children
    k8 = (children.age >= 5) & (children.age <= 13)
    plan = children.success_plan
    assert plan.sum() == round(0.5 * k8.sum())
    assert children.income_quintile[plan].max() <= children.income_quintile[k8 & ~plan].min()
    assert children.income_z[plan].mean() < children.income_z[k8 & ~plan].mean() - 0.5
