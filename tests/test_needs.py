"""Needs keep their sourced prevalence over time, and a service that resolves a need resolves it."""

from __future__ import annotations

import numpy as np

import simcity_kids as sk
from simcity_kids.needs import NEEDS


def test_prevalence_stays_at_its_sourced_level(large_salem):
    model = sk.CityModel(city=large_salem, seed=4, years=4)
    for _ in range(36):
        model.step()
    for need in NEEDS:
        spec = model.needs.params.spec(need)
        people = model.children if spec.level == "child" else model.families
        flags, disadvantaged = getattr(people, f"need_{need}"), people.disadvantaged
        groups = ((disadvantaged, spec.prevalence_disadvantaged), (~disadvantaged, spec.prevalence_other))
        for group, expected in groups:
            observed = flags[group].mean()
            tolerance = 4 * np.sqrt(expected * (1 - expected) / group.sum()) + 0.005
            assert abs(observed - expected) < tolerance, (need, observed, expected)


def test_resolving_a_need_clears_it_and_lowers_the_penalty():
    model = sk.CityModel(seed=2, years=1)
    model.step()
    children = model.children
    needy = np.flatnonzero(children.need_vision)
    before = model.needs.penalty(model, "learning_penalty")[needy].copy()
    model.needs.resolve(model, "vision", needy)
    assert not children.need_vision[needy].any()
    assert (children.wait_vision[needy] >= 1).all()
    after = model.needs.penalty(model, "learning_penalty")[needy]
    np.testing.assert_allclose(before - after, model.needs.params.vision.learning_penalty, rtol=1e-5)
    family_needs = np.flatnonzero(model.needs.unmet(model, "housing_instability"))
    model.needs.resolve(model, "housing_instability", family_needs)
    assert not model.needs.unmet(model, "housing_instability").any()
