"""The synthetic population matches its city profile, and the readiness gap lies in the evidence range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simcity_kids as sk
from simcity_kids.city.profile import RACES, SCHOOL_LEVELS
from simcity_kids.core.calendar import SCHOOL_AGES
from conftest import generated

TOLERANCE = 0.02  # 2 percentage points (issue 2)


def _shares(model: sk.CityModel) -> dict[str, float]:
    children, families = model.children, model.families
    pupils = children.age >= SCHOOL_AGES[0]
    family = children.family[pupils]
    shares = {f"race.{r}": float(np.mean(families.race[family] == k)) for k, r in enumerate(RACES)}
    shares["economically_disadvantaged"] = float(families.disadvantaged[family].mean())
    shares["first_language_not_english"] = float(families.non_english_home[family].mean())
    shares["english_learners"] = float(children.english_learner[pupils].mean())
    return shares


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_synthetic_salem_matches_profile_shares(seed, offset):
    model = sk.CityModel(generated(), city="salem", seed=seed + offset)
    profile = model.city
    expected = {f"race.{r}": profile.race_shares[r] for r in RACES}
    expected |= {"economically_disadvantaged": profile.economically_disadvantaged,
                 "first_language_not_english": profile.first_language_not_english,
                 "english_learners": profile.english_learners}
    got = _shares(model)
    for key, value in expected.items():
        assert abs(got[key] - value) <= TOLERANCE, f"{key}: {got[key]:.3f} vs profile {value:.3f}"
    pupils = int((model.children.age >= SCHOOL_AGES[0]).sum())
    assert abs(pupils - profile.pupils) <= 13
    under_five = int((model.children.age < SCHOOL_AGES[0]).sum())
    assert under_five > 0.3 * pupils  # preschool-age children exist


def test_families_are_mostly_local_and_income_ordered(seed):
    model = sk.CityModel(city="salem", seed=seed)
    families = model.families
    source, target = model.ties
    same_hood = families.neighborhood[source] == families.neighborhood[target]
    assert same_hood.mean() > 0.6
    ties = model.awareness.ties  # both ways: awareness reads who hears from a family off that family's row
    assert (ties != ties.T).nnz == 0
    income = families.income_usd
    assert income[families.disadvantaged].max() <= income[~families.disadvantaged].min()
    point = model.city.neighborhood_index("The Point")
    in_point = families.neighborhood == point
    assert families.disadvantaged[in_point].mean() > families.disadvantaged[~in_point].mean()


def _entry_gaps(result: sk.RunResult, metric: str) -> np.ndarray:
    frame = result.outcomes
    rows = frame[(frame.metric == metric) & (frame.group == "Q5-Q1") & (frame.grade == "K")]
    return rows.value.to_numpy()


EVIDENCE_RANGE = (1.0, 1.23)  # Duncan & Magnuson 2013: more than 1 SD; Reardon 2011: 90/10 gap 1.23 SD


def test_kindergarten_entry_income_gap_in_evidence_range(large_salem, seed):
    """The model's entry gap, measured on Salem's profile at ten times its size (little sampling noise)."""
    large = sk.run("baseline", city=large_salem, years=4, seed=seed)
    for metric in ("entry_reading_mean_gap", "entry_math_mean_gap"):
        gap = _entry_gaps(large, metric).mean()
        assert EVIDENCE_RANGE[0] <= gap <= EVIDENCE_RANGE[1], (metric, gap)


def test_salem_entry_gap_is_consistent_with_the_evidence_range(baseline_run):
    """Salem's own cohorts (about 290 children each) scatter; their mean is within sampling error of the range."""
    for metric in ("entry_reading_mean_gap", "entry_math_mean_gap"):
        gaps = _entry_gaps(baseline_run, metric)
        error = 2 * gaps.std(ddof=1) / np.sqrt(gaps.size)
        assert EVIDENCE_RANGE[0] - error <= gaps.mean() <= EVIDENCE_RANGE[1] + error, (metric, gaps)


def _first_choice(model: sk.CityModel, pupils: np.ndarray) -> np.ndarray:
    """The nearest school of each pupil's level (equally near schools split by family)."""
    children, population = model.children, model.population
    grade = children.age[pupils].astype(int) - SCHOOL_AGES[0]
    first = np.empty(pupils.size, dtype=int)
    for level, (low, high) in SCHOOL_LEVELS.items():
        at_level = (grade >= low) & (grade <= high)
        table, counts = population.catchments[level]
        hood, family = children.neighborhood[pupils[at_level]], children.family[pupils[at_level]]
        first[at_level] = table[hood, family % counts[hood]]
    return first


def test_schools_fill_to_capacity_and_send_the_rest_to_the_next_nearest(seed):
    model = sk.CityModel(generated(), seed=seed, years=2)
    children, schools = model.children, model.schools
    pupils = np.flatnonzero(children.age >= SCHOOL_AGES[0])
    grade = children.age[pupils] - SCHOOL_AGES[0]
    level = np.array([s.level for s in schools])[children.school[pupils]]
    for name, (low, high) in SCHOOL_LEVELS.items():
        assert (level[(grade >= low) & (grade <= high)] == name).all()
    counts = np.bincount(children.school[pupils], minlength=len(schools))
    assert all(count <= s.capacity and count == s.pupils for count, s in zip(counts, schools))
    first = _first_choice(model, pupils)
    moved = children.school[pupils] != first
    assert moved.any()  # a full school sent pupils on: the test bites
    assert all(counts[f] == schools[f].capacity for f in np.unique(first[moved]))
    minutes = model.travel_minutes[children.neighborhood[pupils],
                                   np.array([s.neighborhood for s in schools])[children.school[pupils]]]
    assert minutes[moved].mean() > minutes[~moved].mean()  # sent further, not anywhere
    frame = sk.run(generated(), years=1, seed=seed).outcomes  # the same city and seed: the same places

    def reported(metric: str) -> pd.Series:
        return frame[(frame.metric == metric) & (frame.group_kind == "school")].set_index("group").value

    school_of = children.school[pupils]
    for k, school in enumerate(schools):
        assert reported("school_pupils")[school.name] == counts[k]
        share = children.disadvantaged[pupils][school_of == k].mean()
        assert reported("school_disadvantaged_share")[school.name] == pytest.approx(share)
        assert reported("school_over_capacity")[school.name] == 0


def test_pupils_keep_their_school_while_they_stay_in_its_level(seed):
    model = sk.CityModel(seed=seed, years=3)
    for _ in range(12):
        model.step()
    children = model.children
    school_before, age_before, family_before = (a.copy() for a in (children.school, children.age, children.family))
    for _ in range(12):
        model.step()
    stayed = age_before + 1 < 18
    assert np.array_equal(children.family[: stayed.sum()], family_before[stayed])  # leavers dropped in order
    level = np.array([s.level for s in model.schools] + [""])
    before, after = school_before[stayed], children.school[: stayed.sum()]
    same_level = (before >= 0) & (level[before] == level[after])
    assert same_level.sum() > 2000
    assert np.array_equal(after[same_level], before[same_level])


def test_a_level_without_enough_seats_overfills_the_nearest_school(seed):
    profile = sk.load_city("salem")
    schools = [s.model_copy(update={"capacity": 600}) if s.level == "high" else s for s in profile.schools]
    model = sk.CityModel(city=profile.model_copy(update={"schools": schools}), seed=seed, years=1)
    high = next(s for s in model.schools if s.level == "high")
    assert high.pupils > 1000 and high.over_capacity == high.pupils - 600


def test_each_leavers_family_has_the_newborn_so_every_family_keeps_its_children(seed):
    """Births replace leavers in their own families: each family's number of children, and so the city's
    composition, is the generated one after every turnover."""
    model = sk.CityModel(generated(), seed=seed, years=3)
    generated_children = np.bincount(model.children.family, minlength=len(model.families))
    model.run()
    np.testing.assert_array_equal(np.bincount(model.children.family, minlength=len(model.families)),
                                  generated_children)


def test_every_child_keeps_one_id_for_the_run_and_newborns_get_new_ones(seed):
    model = sk.CityModel(generated(), seed=seed, years=3)  # turnovers in years 1 and 2
    first = dict(zip(model.children.id.tolist(), model.children.age.tolist()))
    model.run()
    ids, ages = model.children.id, model.children.age
    assert np.unique(ids).size == ids.size  # no id twice, after three turnovers
    survivors = np.isin(ids, list(first))
    assert survivors.any() and (~survivors).any()
    np.testing.assert_array_equal(ages[survivors], np.array([first[i] for i in ids[survivors]]) + 2)
    assert ids[~survivors].min() > max(first)  # newborns: ids never used before


def test_children_stay_oldest_first_so_pupils_are_the_first_rows(seed):
    """The monthly rules treat the pupils as one slice of rows (``Population.pupil_rows``): that holds only if every
    turnover keeps the children ordered oldest first."""
    model = sk.CityModel("by_all_means", seed=seed, years=3)
    for _ in range(3):
        age = model.children.age
        assert (np.diff(age.astype(int)) <= 0).all()
        pupils = model.population.pupil_rows(model)
        np.testing.assert_array_equal(np.arange(len(age))[pupils], np.flatnonzero(age >= SCHOOL_AGES[0]))
        for _ in range(12):
            model.step()
    model.children.age[[0, -1]] = model.children.age[[-1, 0]]  # out of order: refused, not silently wrong
    model.population.version += 1
    with pytest.raises(RuntimeError, match="oldest first"):
        model.population.pupil_rows(model)
