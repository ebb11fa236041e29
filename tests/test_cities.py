"""Built-in cities: each matches its profile's shares and segregation, runs from the CLI, and scales."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import simcity_kids as sk
from simcity_kids.city.profile import RACES
from simcity_kids.cli import main
from simcity_kids.core.calendar import SCHOOL_AGES
from simcity_kids.city.segregation import dissimilarity
from conftest import generated

CITIES = sk.builtin_cities()
CONSORTIUM = {"salem", "somerville", "newton", "providence", "louisville", "oakland", "chattanooga"}


def test_every_consortium_city_is_built_in_with_sources_and_assumptions():
    assert CONSORTIUM <= set(CITIES)
    for name in CITIES:
        profile = sk.load_city(name)
        assert profile.sources and profile.assumptions, name
        assert profile.segregation.income_dissimilarity is not None
        assert profile.segregation.race_dissimilarity is not None


def textbook_dissimilarity(in_group: np.ndarray, neighborhood: np.ndarray) -> float:
    """Duncan & Duncan's dissimilarity index, D = 1/2 sum over neighborhoods of |g_i / G - o_i / O|,
    counted person by person in plain Python: independent of ``simcity_kids.city.segregation``."""
    group, others = Counter(), Counter()
    for flagged, hood in zip(in_group.tolist(), neighborhood.tolist()):
        (group if flagged else others)[hood] += 1
    total_group, total_others = sum(group.values()), sum(others.values())
    return 0.5 * sum(abs(group[h] / total_group - others[h] / total_others) for h in group.keys() | others.keys())


def bootstrap_error(in_group: np.ndarray, neighborhood: np.ndarray, family: np.ndarray, seed: int) -> float:
    """Standard error of the index from resampling families (siblings share a home and the flags)."""
    rng = np.random.default_rng(seed)
    families, row = np.unique(family, return_inverse=True)
    hood = np.bincount(row, weights=neighborhood) / np.bincount(row)
    pupils, flagged = np.bincount(row), np.bincount(row, weights=in_group)
    n_hoods = int(neighborhood.max()) + 1
    indexes = []
    for _ in range(40):
        weight = rng.multinomial(families.size, np.full(families.size, 1 / families.size))
        group = np.bincount(hood.astype(int), weights=weight * flagged, minlength=n_hoods)
        everyone = np.bincount(hood.astype(int), weights=weight * pupils, minlength=n_hoods)
        others = everyone - group
        indexes.append(0.5 * np.abs(group / group.sum() - others / others.sum()).sum())
    return float(np.std(indexes, ddof=1))


def test_dissimilarity_is_the_textbook_index(seed):
    assert dissimilarity(np.array([10, 0]), np.array([0, 10])) == 1.0  # never share a neighborhood
    assert dissimilarity(np.array([5, 10]), np.array([50, 100])) == 0.0  # spread alike
    assert dissimilarity(np.array([30, 10]), np.array([10, 30])) == pytest.approx(0.5)
    rng = np.random.default_rng(seed)
    hood = rng.integers(0, 12, 2000)
    flag = rng.random(2000) < 0.1 + 0.05 * hood
    group = np.bincount(hood, weights=flag, minlength=12)
    assert dissimilarity(group, np.bincount(hood, minlength=12) - group) == pytest.approx(
        textbook_dissimilarity(flag, hood), abs=1e-12)


@pytest.mark.parametrize("name", CITIES)
@pytest.mark.parametrize("offset", [0, 1])
def test_synthetic_population_matches_shares_and_segregation(name, seed, offset):
    model = sk.CityModel(generated(), city=name, seed=seed + offset, years=1)
    profile, children = model.city, model.children
    pupils = children.age >= SCHOOL_AGES[0]
    got = {f"race.{r}": np.mean(children.race[pupils] == k) for k, r in enumerate(RACES)}
    got["disadvantaged"] = children.disadvantaged[pupils].mean()
    got["english_learners"] = children.english_learner[pupils].mean()
    want = {f"race.{r}": profile.race_shares[r] for r in RACES}
    want |= {"disadvantaged": profile.economically_disadvantaged, "english_learners": profile.english_learners}
    for key in want:
        assert abs(got[key] - want[key]) <= 0.02, (name, key, got[key], want[key])
    hood, family = children.neighborhood[pupils], children.family[pupils]
    # The generator aims the expected index at the target; a city of a few thousand pupils scatters around it.
    for flag, target in ((children.disadvantaged[pupils], profile.segregation.income_dissimilarity),
                         (children.race[pupils] == 0, profile.segregation.race_dissimilarity)):
        index = textbook_dissimilarity(flag, hood)
        tolerance = 0.01 + 4 * bootstrap_error(flag, hood, family, seed)
        assert abs(index - target) <= tolerance, (name, index, target, tolerance)


def test_segregation_changes_who_lives_where(seed):
    base = sk.load_city("oakland").model_dump()
    shares = []
    for income, race in ((0.05, 0.05), (0.5, 0.6)):
        segregation = {"income_dissimilarity": income, "race_dissimilarity": race}
        profile = sk.CityProfile.model_validate({**base, "segregation": segregation})
        children = sk.CityModel(city=profile, seed=seed, years=1).children
        pupils = children.age >= SCHOOL_AGES[0]
        by_hood = np.bincount(children.neighborhood[pupils], weights=children.disadvantaged[pupils]) / np.bincount(
            children.neighborhood[pupils])
        shares.append(by_hood.std())
    assert shares[1] > 2 * shares[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", CITIES)
def test_each_builtin_city_runs_from_the_cli(name, tmp_path, capsys):
    assert main(["run", "--city", name, "--years", "1", "--out", str(tmp_path), "--quiet"]) == 0
    assert "income Q5-Q1" in capsys.readouterr().out
    assert (tmp_path / "outcomes.parquet").exists()


def test_cities_command_lists_every_city(capsys):
    assert main(["cities"]) == 0
    printed = capsys.readouterr().out
    assert "97,000" in printed and "Oakland" in printed
    assert all(name in printed for name in CITIES)


def _june_income_gap(model: sk.CityModel) -> tuple[float, float]:
    """The reading Q5-Q1 gap among pupils in the last June, and its standard error."""
    children = model.children
    pupils = children.age >= SCHOOL_AGES[0]
    high, low = (children.june_reading[pupils & (children.income_quintile == q)] for q in (4, 0))
    return float(high.mean() - low.mean()), float(np.sqrt(high.var() / high.size + low.var() / low.size))


def test_scale_reports_whole_city_totals(seed):
    full, scaled = (sk.CityModel("universal_summer", city="salem", years=2, seed=seed, scale=scale).run()
                    for scale in (1, 5))

    def total(model: sk.CityModel, metric: str, group: str = "all") -> float:
        frame = model.outcomes.table()
        return float(frame[(frame.metric == metric) & (frame.group == group) & (frame.year == 1)].value.sum())

    for metric in ("summer_eligible", "summer_enrolled"):
        assert total(scaled, metric) == pytest.approx(total(full, metric), rel=0.15), metric
    assert total(scaled, "cost_usd", "total") == pytest.approx(total(full, "cost_usd", "total"), rel=0.15)
    (gap_full, error_full), (gap_scaled, error_scaled) = _june_income_gap(full), _june_income_gap(scaled)
    assert abs(gap_full - gap_scaled) < 4.5 * np.hypot(error_full, error_scaled)  # the same picture, noisier
    assert len(scaled.children) * scaled.child_weight == pytest.approx(3800 * 18 / 13, rel=0.01)
    seats = {school.name: school.capacity for school in full.schools}  # school seats shrink with the children
    assert all(s.pupils * scaled.child_weight <= seats[s.name] + scaled.child_weight for s in scaled.schools)


def test_scale_below_one_is_refused(capsys):
    assert main(["run", "--scale", "0.5", "--quiet"]) == 2
    assert "--scale" in capsys.readouterr().err
