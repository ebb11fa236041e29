"""Needs keep their sourced prevalence for any seed, and ``Needs.resolve`` keeps its contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simcity_kids as sk
from simcity_kids.rules.needs import NEEDS
from simcity_kids.core.calendar import SCHOOL_AGES

Z = 4.5  # standard errors: with 60 comparisons, a false alarm about once in 5,000 runs


def _prevalence_errors(model: sk.CityModel, among_children: np.ndarray | None = None) -> list[str]:
    """Every need whose share among the disadvantaged or the others is off its sourced prevalence by more
    than ``Z`` binomial standard errors (a need is independent between people at any one time)."""
    problems = []
    for need in NEEDS:
        spec = model.needs.params.spec(need)
        people = model.children if spec.level == "child" else model.families
        flags, disadvantaged = getattr(people, f"need_{need}"), people.disadvantaged
        chosen = np.ones(len(people), bool) if among_children is None or spec.level == "family" else among_children
        for group, expected in ((disadvantaged & chosen, spec.prevalence_disadvantaged),
                                (~disadvantaged & chosen, spec.prevalence_other)):
            observed = flags[group].mean()
            error = np.sqrt(expected * (1 - expected) / group.sum())
            if abs(observed - expected) > Z * error:
                problems.append(f"{need}: {observed:.4f} vs {expected:.4f} ({(observed - expected) / error:+.1f} SE)")
    return problems


@pytest.mark.parametrize("offset", range(3))
def test_prevalence_stays_at_its_sourced_level(large_salem, seed, offset):
    """Eight years: cohorts born in the run make up 8 of 18 ages, and the longest need lasts 10 years."""
    model = sk.CityModel(city=large_salem, seed=seed + offset, years=8)
    model.run()
    assert _prevalence_errors(model) == []
    assert _prevalence_errors(model, model.children.age < SCHOOL_AGES[0]) == []  # born in the run


@pytest.fixture
def model(seed) -> sk.CityModel:
    model = sk.CityModel(seed=seed, years=1)
    model.step()
    return model


def test_resolve_clears_unmet_needs_only_and_lowers_the_penalty(model):
    children, needs = model.children, model.needs
    chosen = np.arange(0, len(children), 2)
    had = children.need_vision.copy()
    wait_before = children.wait_vision.copy()
    before = needs.penalty(model, "learning_penalty").copy()
    resolved = needs.resolve(model, "vision", chosen, service="test")
    np.testing.assert_array_equal(resolved, chosen[had[chosen]])
    assert not children.need_vision[chosen].any()
    untouched = np.ones(len(children), bool)
    untouched[resolved] = False
    np.testing.assert_array_equal(children.need_vision[untouched], had[untouched])
    np.testing.assert_array_equal(children.wait_vision[untouched], wait_before[untouched])
    after = needs.penalty(model, "learning_penalty")
    np.testing.assert_allclose(before[resolved] - after[resolved], needs.params.vision.learning_penalty, rtol=1e-5)
    np.testing.assert_array_equal(before[untouched], after[untouched])


def test_resolving_a_family_need_resolves_it_for_every_sibling(model):
    children = model.children
    unmet = model.needs.unmet(model, "housing_instability")
    sizes = np.bincount(children.family, minlength=len(model.families))
    child = np.flatnonzero(unmet & (sizes[children.family] > 1))[0]
    siblings = np.flatnonzero(children.family == children.family[child])
    resolved = model.needs.resolve(model, "housing_instability", np.array([child]), service="test")
    np.testing.assert_array_equal(resolved, [children.family[child]])
    assert not model.needs.unmet(model, "housing_instability")[siblings].any()
    assert model.needs.unmet(model, "housing_instability").sum() == unmet.sum() - siblings.size


def test_a_resolved_need_arises_again_at_the_onset_rate(model):
    """The months until a resolved need returns are geometric with the onset chance that keeps prevalence."""
    children, spec = model.children, model.needs.params.behavioral_health
    resolved = model.needs.resolve(model, "behavioral_health", np.flatnonzero(children.need_behavioral_health),
                                   service="test")
    assert resolved.size > 300
    for flag, prevalence in ((True, spec.prevalence_disadvantaged), (False, spec.prevalence_other)):
        rows = resolved[children.disadvantaged[resolved] == flag]
        onset = prevalence / (1 - prevalence) / spec.duration_months
        waits = children.wait_behavioral_health[rows].astype(float)
        standard_error = np.sqrt(1 - onset) / onset / np.sqrt(rows.size)
        assert abs(waits.mean() - 1 / onset) < Z * standard_error, (flag, waits.mean(), 1 / onset)


@pytest.mark.parametrize("other", [("school_nurse", 1), ("clinic", 2)], ids=["other service", "other month"])
def test_a_resolution_draws_from_its_service_and_months_stream(seed, other):
    """Children whose need is resolved by another service, or by the same service a month later, get
    independent months until the need returns."""
    waits = []
    for service, months in (("clinic", 1), other):
        model = sk.CityModel(seed=seed, years=1)
        for _ in range(months):
            model.step()
        rows = model.needs.resolve(model, "chronic_health", np.flatnonzero(model.children.need_chronic_health),
                                   service=service)
        waits.append(pd.Series(model.children.wait_chronic_health[rows], index=rows))
    both = waits[0].index.intersection(waits[1].index)
    assert both.size > 50
    assert np.mean(waits[0][both].to_numpy() == waits[1][both].to_numpy()) < 0.2


def test_resolving_some_childrens_needs_leaves_everyone_elses_needs_alone(seed):
    """Common random numbers: a person's need draws are their own, so after a service resolves some children's
    vision needs, every other child's needs change in the same months as in the run without the service (up to
    the September turnover, which moves rows)."""
    runs = [sk.CityModel(seed=seed, years=1) for _ in range(2)]
    for model in runs:
        model.step()
    served = np.flatnonzero(runs[1].children.need_vision)[::2]
    assert runs[1].needs.resolve(runs[1], "vision", served, service="test").size == served.size
    others = np.ones(len(runs[0].children), dtype=bool)
    others[served] = False
    for _ in range(10):
        for model in runs:
            model.step()
        for need in NEEDS:
            level = runs[0].needs.params.spec(need).level
            people = [model.children if level == "child" else model.families for model in runs]
            rows = others if level == "child" else slice(None)
            for field in (f"need_{need}", f"wait_{need}"):
                np.testing.assert_array_equal(*(getattr(p, field)[rows] for p in people), err_msg=field)


def test_resolving_an_unknown_need_is_refused(model):
    with pytest.raises(ValueError, match="unknown need 'glasses'; allowed: vision"):
        model.needs.resolve(model, "glasses", np.arange(3), service="test")


def test_need_summaries_kept_through_resolutions_equal_a_fresh_look_up(seed):
    """The unmet-need counts and penalties follow each service's resolutions (vision, behavioral health, food,
    housing) for the children concerned only (``Needs._toggle``); each month, over a year and a turnover, they
    must equal a fresh look-up."""
    model = sk.CityModel("by_all_means", seed=seed, years=2)
    for _ in range(15):
        model.step()
        kept = {field: model.needs.summary(model, field).copy()
                for field in ("count", "attendance_penalty", "learning_penalty")}
        model.needs._pattern = None  # forget: the next look-up is built from the flags
        for field, values in kept.items():
            np.testing.assert_array_equal(values, model.needs.summary(model, field), err_msg=field)
