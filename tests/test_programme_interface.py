"""What every registered programme promises, tested for each one from the registry (a new programme is covered
without a new test): nothing funded means the baseline exactly; capacity is never exceeded; referred children go
first; bad input in its section is refused in one line naming the file and key."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest

import simcity_kids as sk
from simcity_kids.cli import main
from simcity_kids.programmes import REGISTRY, registered
from simcity_kids.programmes.base import APPLIED, ELIGIBLE, ENROLLED, WAITED
from simcity_kids.scenario import ScenarioConfig, builtin_scenarios

NAMES = sorted(REGISTRY)
YEARS = 2
STATE = ("reading", "math", "boost_reading", "boost_math", "attendance", "social_emotional", "graduated",
         "college", "need_vision", "need_behavioral_health", "need_chronic_health")


def _run(config: ScenarioConfig, seed: int, city: str | sk.CityProfile = "salem") -> sk.CityModel:
    return sk.CityModel(config, city, seed=seed, years=YEARS).run()


def _same_run(a: sk.CityModel, b: sk.CityModel) -> None:
    """Identical children, families and outcomes table."""
    np.testing.assert_array_equal(a.children.id, b.children.id)
    for name in STATE:
        np.testing.assert_array_equal(getattr(a.children, name), getattr(b.children, name), err_msg=name)
    for need in ("food_insecurity", "housing_instability"):
        np.testing.assert_array_equal(getattr(a.families, f"need_{need}"), getattr(b.families, f"need_{need}"))
    pd.testing.assert_frame_equal(a.outcomes.table(), b.outcomes.table())


@pytest.fixture(scope="module")
def baseline(request) -> sk.CityModel:
    from conftest import TEST_SEED

    return _run(ScenarioConfig(), TEST_SEED)


def _levers(name: str, **levers) -> ScenarioConfig:
    return ScenarioConfig().with_overrides({f"programmes.{name}.{key}": value for key, value in levers.items()})


@pytest.mark.parametrize("name", NAMES)
def test_zero_coverage_is_the_baseline_whatever_else_is_set(name, baseline):
    """Coverage 0 with a dearer slot and a slower phase-in: nothing is bought, nothing changes."""
    config = _levers(name, coverage=0.0, cost_per_slot_usd=5_000.0, phase_in_years=3, start_year=1)
    _same_run(_run(config, baseline.seed), baseline)


@pytest.mark.parametrize("name", NAMES)
def test_zero_budget_is_the_baseline_at_any_coverage(name, baseline):
    _same_run(_run(_levers(name, coverage=0.9, budget_usd=0.0), baseline.seed), baseline)


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].provider_types])
def test_zero_capacity_serves_nobody_and_changes_nothing(name, seed):
    """Providers of the programme's types with no slots, and no money to buy any: the programme's applicants all
    wait, and every child's path is the baseline's on the same city."""
    salem = sk.load_city("salem")
    types = REGISTRY[name].provider_types
    empty = salem.model_copy(update={"providers": [p.model_copy(update={"capacity": 0}) if p.type in types else p
                                                   for p in salem.providers]})
    without, with_levers = (_run(config, seed, empty) for config in (ScenarioConfig(),
                                                                       _levers(name, coverage=0.9, budget_usd=0.0)))
    _same_run(with_levers, without)
    frame = with_levers.outcomes.table()
    assert frame[frame.metric == f"{name}_enrolled"].value.sum() == 0


def _everything_on(coverage: float = 1.0) -> ScenarioConfig:
    """Every programme at full coverage from year 0, with budgets so tight that demand exceeds supply."""
    overrides = {"cabinet.coordination": 0.8}
    for cls in registered():
        overrides[f"programmes.{cls.name}.coverage"] = coverage
        overrides[f"programmes.{cls.name}.budget_usd"] = 50_000.0
    return ScenarioConfig().with_overrides(overrides)


def test_no_provider_ever_exceeds_capacity_with_every_programme_on(seed):
    model = sk.CityModel(_everything_on(), "salem", seed=seed, years=YEARS)
    waited = 0
    for _ in range(model.years * 12):
        model.step()
        for provider in model.providers:
            assert 0 <= provider.enrolled <= provider.capacity, (provider.type, provider.name)
        for programme in model.programmes:
            waited += int((getattr(model.children, programme.reach) & 4).sum())
    assert waited > 0  # demand exceeded supply somewhere: the test bites


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].provider_types])
def test_a_referred_child_goes_before_an_unreferred_one_of_the_same_priority(name, seed):
    model = sk.CityModel(ScenarioConfig(), "salem", seed=seed, years=1)
    programme = model.programme(name)
    children = model.children
    everyone = np.arange(len(children))
    referred = getattr(children, programme.referred)
    referred[everyone % 3 == 0] = True
    for order in ("lottery", "lowest_income", "highest_need"):
        programme.config = programme.config.model_copy(update={"waitlist_order": order})
        key = programme.priority(model, everyone)
        tier = np.floor(key / 4)
        if order == "lowest_income":  # a poorer quintile goes first, referred or not
            quintile = children.income_quintile
            assert (np.diff([key[quintile == q].max() for q in range(5)]) > 0).all()
            assert all(key[quintile == q].max() < key[quintile == q + 1].min() for q in range(4))
        for level in np.unique(tier):
            same = tier == level
            if referred[same].any() and (~referred[same]).any():
                assert key[same & referred].max() < key[same & ~referred].min(), order
    # End to end, by lottery: one provider with room for five; the three referred children get places.
    programme.config = programme.config.model_copy(update={"waitlist_order": "lottery"})
    capacity = np.zeros(len(programme.providers), dtype=np.int64)
    capacity[0] = 5
    applicants = everyone[programme.choices(model, everyone)[:, 0] == 0]
    referred[:] = False
    referred[applicants[:3]] = True
    placed_ = programme.enrol(model, eligible=np.isin(everyone, applicants), capacity=capacity)[0]
    assert set(applicants[:3]) <= set(placed_) and len(placed_) == 5


def _salem_without(types: tuple[str, ...]) -> str:
    """Salem's profile with its providers of these types taken out."""
    text = (resources.files("simcity_kids.city") / "cities" / "salem.toml").read_text()
    head, *blocks = text.split("[[providers]]")
    kept = [b for b in blocks if not any(f'type = "{kind}"' in b for kind in types)]
    assert len(kept) < len(blocks)
    return "[[providers]]".join([head, *kept])


def _bad(tmp_path, scenario: str, city: str | None = None) -> tuple[int, str]:
    path = tmp_path / "bad.toml"
    path.write_text(scenario)
    argv = ["run", str(path), "--years", "1", "--out", str(tmp_path / "out"), "--quiet"]
    if city:
        (tmp_path / "city.toml").write_text(city)
        argv += ["--city", str(tmp_path / "city.toml")]
    return main(argv), str(path)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", ["coverage 1.5", "negative budget", "unknown school", "unknown key"])
def test_bad_input_in_every_programme_section_exits_2_naming_file_and_key(name, case, tmp_path, capsys):
    body, key = {
        "coverage 1.5": ("coverage = 1.5", "coverage"),
        "negative budget": ("budget_usd = -1.0", "budget_usd"),
        "unknown school": ('targeting = "schools"\nschools = ["Hogwarts"]', "schools"),
        "unknown key": ("coverrage = 0.5", "coverrage"),
    }[case]
    code, path = _bad(tmp_path, f"[programmes.{name}]\n{body}\n")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert path in err and f"programmes.{name}.{key}" in err, err
    if case == "unknown school":
        assert "Hogwarts" in err and "allowed" in err


def test_an_unknown_programme_is_refused_with_the_known_ones(tmp_path, capsys):
    code, path = _bad(tmp_path, "[programmes.teleportation]\ncoverage = 0.5\n")
    err = capsys.readouterr().err.strip()
    assert code == 2 and path in err and "programmes.teleportation" in err and "summer" in err


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].provider_types])
def test_a_programme_whose_provider_type_the_city_lacks_is_refused(name, tmp_path, capsys):
    code, path = _bad(tmp_path, f"[programmes.{name}]\ncoverage = 0.5\n",
                      _salem_without(REGISTRY[name].provider_types))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert path in err and f"programmes.{name}.coverage" in err and REGISTRY[name].provider_types[0] in err


def test_reach_is_recorded_for_every_programme_by_year_and_group(seed):
    model = sk.CityModel(_everything_on(0.5), "salem", seed=seed, years=YEARS).run()
    frame = model.outcomes.table()
    for name in NAMES:
        for metric in ("eligible", "enrolled", "waitlisted", "turned_away", "unmet_needs"):
            rows = frame[frame.metric == f"{name}_{metric}"]
            assert set(rows.year) == set(range(YEARS)), (name, metric)
            assert {"all", "income_quintile", "race", "neighborhood"} <= set(rows.group_kind.astype(str))
        cost = frame[(frame.metric == "cost_usd") & (frame.group == name)]
        assert len(cost) == YEARS
        every = frame[frame.group_kind == "all"].pivot_table(index="year", columns="metric", values="value",
                                                             observed=True)
        reach = {m: every[f"{name}_{m}"] for m in ("eligible", "enrolled", "waitlisted", "turned_away")}
        # Turned away = applied and never enrolled: each of them waited, and none of them was enrolled.
        assert (reach["turned_away"] <= reach["waitlisted"]).all(), name
        assert (reach["turned_away"] <= reach["eligible"] - reach["enrolled"] + 1e-6).all(), name
    served = {p.name: int((getattr(model.children, p.reach) & ENROLLED).sum()) for p in model.programmes}
    assert served  # the reach bits are reset each August: a new year starts empty


def test_reach_counts_equal_the_children_counted_one_by_one(seed):
    """Each programme's August reach (all groups together) equals a plain count of its children's reach bits,
    the eligible children whose need is unmet included, times the children each simulated child stands for."""
    model = sk.CityModel(_everything_on(0.5), "salem", seed=seed, years=1)
    expected, record = {}, model.outcomes.record_programmes

    def count_then_record(m: sk.CityModel) -> None:
        for p in m.programmes:
            reach = getattr(m.children, p.reach)
            eligible, enrolled = (reach & ELIGIBLE) > 0, (reach & ENROLLED) > 0
            expected.update({f"{p.name}_eligible": eligible.sum(), f"{p.name}_enrolled": enrolled.sum(),
                             f"{p.name}_waitlisted": ((reach & WAITED) > 0).sum(),
                             f"{p.name}_turned_away": (((reach & APPLIED) > 0) & ~enrolled).sum(),
                             f"{p.name}_unmet_needs": (eligible & p.in_need(m)).sum()})
        record(m)

    model.outcomes.record_programmes = count_then_record
    model.run()
    frame = model.outcomes.table()
    recorded = frame[frame.group_kind == "all"].set_index("metric").value
    assert sum(expected[k] for k in expected if k.endswith("_unmet_needs")) > 0
    for metric, count in expected.items():
        assert recorded[metric] == pytest.approx(count * model.child_weight), metric


@pytest.mark.parametrize("name", list(builtin_scenarios()))
def test_every_shipped_scenario_runs_from_the_command_line(name, tmp_path, capsys):
    assert main(["run", name, "--years", "2", "--quiet", "--out", str(tmp_path / "out")]) == 0
    assert f"scenario '{sk.load_scenario(name)[0].name}'" in capsys.readouterr().out
    assert (tmp_path / "out" / "manifest.json").exists()


def test_families_share_out_equally_near_providers(seed):
    """A synthetic city has several providers of a type in one neighborhood, all equally near: families share
    them out (as they do schools), so every provider is someone's first choice and a family's first choices
    differ, and a funded slot anywhere can be used."""
    model = sk.CityModel(ScenarioConfig(), sk.synthetic_city(60_000, n_neighborhoods=4), seed=seed, years=1)
    everyone = np.arange(len(model.children))
    for programme in model.programmes:
        if len(programme.providers) <= 4:
            continue
        first = programme.choices(model, everyone)
        assert set(first[:, 0]) == set(range(len(programme.providers))), programme.name
        rounds = first.shape[1]
        assert (np.sort(first, axis=1)[:, 1:] != np.sort(first, axis=1)[:, :-1]).all() or rounds == 1
        per_provider = np.bincount(first[:, 0], minlength=len(programme.providers))
        assert per_provider.min() > 0.5 * per_provider.mean(), programme.name


def test_run_results_give_each_programmes_reach_and_cost_and_the_total_is_their_sum(seed):
    base, on = (sk.run(config, years=YEARS, seed=seed) for config in (ScenarioConfig(), _everything_on(0.5)))
    table = on.programmes()
    assert set(table.index.get_level_values("programme")) == set(NAMES)
    assert list(table.columns[:5]) == ["eligible", "enrolled", "waitlisted", "turned_away", "unmet_needs"]
    frame = on.outcomes
    shown = frame[(frame.metric == "summer_enrolled") & (frame.group_kind == "all")].set_index("year").value
    np.testing.assert_allclose(table.loc[("summer", slice(None), "all"), "enrolled"].to_numpy(), shown.to_numpy())
    by_quintile = on.programmes("income_quintile")
    assert set(by_quintile.index.get_level_values("group")) == {"Q1", "Q2", "Q3", "Q4", "Q5"}
    costs = frame[(frame.metric == "cost_usd") & (frame.group_kind == "programme")].pivot_table(
        index="year", columns="group", values="value", observed=True)
    np.testing.assert_allclose(costs.loc[:, list(NAMES)].to_numpy(),
                               table.xs("all", level="group")["cost_usd"].unstack("programme")[list(NAMES)])
    parts = costs.drop(columns="total").sum(axis=1)  # every programme and the cabinet's staff
    np.testing.assert_allclose(parts, costs["total"], rtol=1e-9)
    assert (base.summary()["cost_usd"] == 0).all() and (costs["total"] > 0).all()
