"""The baseline in steady state (city/history.py): under an unchanged policy the gaps do not drift; the burn-in is
shared by every scenario of a seed, so paired comparisons stay paired."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simcity_kids as sk
from simcity_kids.city import history
from simcity_kids.model import CityModel
from simcity_kids.outcomes import GRADES

from conftest import TEST_SEED

# The baseline with 13 years of history before year 0: every pupil of year 0 went through school under the rules.
STEADY = sk.ScenarioConfig().with_overrides({"population.burn_in_years": 13}, source="steady baseline")


@pytest.fixture(scope="module")
def louisville():
    """Louisville's baseline (about 134,000 children), ten years from a steady-state start."""
    return CityModel(STEADY, "louisville", seed=TEST_SEED, years=10).run()


def income_gaps(model: CityModel, subject: str) -> pd.DataFrame:
    table = model.outcomes.table()
    rows = table[(table.metric == f"{subject}_mean_gap") & (table.group == "Q5-Q1")]
    return rows.pivot_table(index="grade", columns="year", values="value", observed=True)


@pytest.mark.slow
@pytest.mark.parametrize("subject", ["reading", "math"])
def test_the_all_grade_income_gap_does_not_drift_under_the_baseline(louisville, subject):
    assert len(louisville.children) >= 100_000
    gaps = income_gaps(louisville, subject).loc["all"]
    assert abs(gaps[9] - gaps[0]) < 0.05, gaps.round(3).to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("subject", ["reading", "math"])
def test_each_grades_income_gap_has_no_trend_beyond_sampling_noise(louisville, subject):
    """A grade's gap is a new cohort each year: its yearly values scatter by their sampling error and have no
    trend. The trend's standard error comes from each year's sampling error (group sizes and score spread)."""
    children = louisville.children
    score = getattr(children, subject)
    gaps = income_gaps(louisville, subject)
    years = np.arange(10.0)
    for grade_number, grade in enumerate(GRADES):
        in_grade = children.age == 5 + grade_number
        top, bottom = in_grade & (children.income_quintile == 4), in_grade & (children.income_quintile == 0)
        sampling_error = np.sqrt(score[top].var() / top.sum() + score[bottom].var() / bottom.sum())
        slope = np.polyfit(years, gaps.loc[grade, list(range(10))].to_numpy(), 1)[0]
        slope_error = sampling_error / np.sqrt(((years - years.mean()) ** 2).sum())
        assert abs(slope) < 4.5 * slope_error, (grade, slope, slope_error)


def test_every_scenario_of_a_seed_starts_from_one_burn_in(seed):
    """The burn-in runs once per world and seed (cached) and does not depend on the policy: a scenario whose levers
    fund nothing in the run starts and ends where the baseline does, child for child."""
    history._cache.clear()
    baseline = CityModel(STEADY, "salem", seed=seed, years=2)
    assert len(history._cache) == 1
    late = CityModel(baseline.config.with_overrides({"programmes.summer.coverage": 0.8,
                                                     "programmes.summer.start_year": 30}), "salem", seed=seed,
                     years=2)
    assert len(history._cache) == 1  # the same burn-in
    assert late.programme("summer") is not baseline.programme("summer")
    np.testing.assert_array_equal(late.children.reading, baseline.children.reading)
    baseline.run()
    late.run()
    np.testing.assert_array_equal(late.children.reading, baseline.children.reading)
    np.testing.assert_array_equal(late.children.math, baseline.children.math)
    other_world = CityModel(baseline.config.with_overrides({"learning.summer_loss": "strong"}), "salem", seed=seed,
                            years=1)
    assert len(history._cache) == 2  # another world, another burn-in
    assert not np.array_equal(other_world.children.reading, baseline.children.reading)


def test_a_burn_in_is_the_same_whichever_process_computes_it(seed):
    here = history.burn_in(STEADY, sk.load_city("salem"), seed, 1.0)
    elsewhere = CityModel(STEADY, "salem", seed=seed, years=1, history=here)
    again = CityModel(STEADY, "salem", seed=seed, years=1)
    np.testing.assert_array_equal(elsewhere.children.reading, again.children.reading)
    assert elsewhere.month == 0 and elsewhere.start_month == -12 * 13
    assert all(agent.model is elsewhere for agent in elsewhere.agents)


def test_without_a_burn_in_the_generated_city_starts_at_once(seed):
    model = CityModel(STEADY.with_overrides({"population.burn_in_years": 0}), "salem", seed=seed, years=1)
    assert model.month == model.start_month == 0
    entry = model.children.age == 5
    assert np.allclose(model.children.reading[entry], model.children.endowment_reading[entry])


def test_a_burned_in_city_starts_in_september_of_year_0_as_a_generated_one_does(seed):
    """The burn-in ends with year 0's turnover: the children are that year's (every age 0-17, kindergartners
    classified), and the first month's step, September, ages no one again."""
    model = CityModel(STEADY, "salem", seed=seed, years=1)
    children = model.children
    assert model.population.school_year == model.english.school_year == 0
    assert set(np.unique(children.age)) == set(range(18))
    ages = dict(zip(children.id.tolist(), children.age.tolist()))
    model.step()
    assert all(ages[i] == age for i, age in zip(children.id.tolist(), children.age.tolist()))


@pytest.mark.slow
def test_a_pool_burns_in_once_per_seed_and_gives_the_serial_numbers(monkeypatch, seed):
    """On a pool each seed's burn-in is a job of its own whose result goes to that seed's runs: one burn-in per
    seed, and the same numbers as a serial run (which keeps the burn-in in its process)."""
    from concurrent.futures import ThreadPoolExecutor

    from simcity_kids.experiments import runner
    from simcity_kids.experiments.plan import build_plan

    summer = STEADY.with_overrides({"name": "steady_summer", "programmes.summer.coverage": 0.6})
    plan = build_plan([STEADY, summer], "salem", seeds=2, seed=seed, years=2)
    tasks = [runner.RunTask(spec, plan.configuration(spec), plan.city, plan.years, plan.scale) for spec in plan.runs]
    burn_ins = []
    real_burn_in = runner.execute_burn_in
    monkeypatch.setattr(runner, "execute_burn_in", lambda task: burn_ins.append(task.spec.seed) or real_burn_in(task))
    with ThreadPoolExecutor(2) as pool:
        pooled = {task.spec.run_id: output for task, output in runner._on_executor(tasks, pool, in_flight=3)}
    assert sorted(burn_ins) == [seed, seed + 1]
    history._cache.clear()
    for task in tasks:
        assert pooled[task.spec.run_id].outcomes == runner.execute_run(task).outcomes, task.spec.run_id



def test_every_default_parameter_has_a_unit_and_a_source_or_says_assumption():
    """Every parameter of every section (programmes included) declares its unit and its source (a citation, the
    word 'assumption', or 'scenario lever' for a policy choice). A need's numbers share the citation in its own
    ``source`` value."""
    from simcity_kids.core.params import Params

    def parameters(schema: type[Params], default: Params | None, path: str):
        for name, field in schema.model_fields.items():
            value = getattr(default, name, None) if default is not None else field.default
            if isinstance(field.annotation, type) and issubclass(field.annotation, Params):
                yield from parameters(field.annotation, value if isinstance(value, Params) else None,
                                      f"{path}{name}.")  # a section
            elif f"{path}{name}" not in ("name", "description"):
                extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
                yield f"{path}{name}", extra.get("unit"), extra.get("source") or getattr(default, "source", None)

    found = list(parameters(sk.ScenarioConfig, sk.ScenarioConfig(), ""))
    for path, unit, source in found:
        assert unit and source, f"{path} lacks a unit or a source"
    assert len(found) > 200 and any(path.startswith("programmes.mentoring.") for path, _, _ in found)


def test_a_scenario_on_a_burned_in_city_runs_its_own_policy_and_records_only_the_run(seed):
    """The programmes and the cabinet whose levers differ are the scenario's (built anew); the outcomes and the
    trace start in year 0: the burn-in recorded nothing."""
    baseline = CityModel(STEADY, "salem", seed=seed, years=1).run()
    policy = STEADY.with_overrides({"programmes.summer.coverage": 0.8, "cabinet.coordination": 0.5})
    scenario = CityModel(policy, "salem", seed=seed, years=1).run()
    assert scenario.programme("summer").config.coverage == 0.8
    assert scenario.cabinet.params.coordination == 0.5
    assert [type(agent).__name__ for agent in scenario.agents].count("Cabinet") == 1
    enrolled = {name: model.outcomes.table().query("metric == 'summer_enrolled' and group_kind == 'all'").value.sum()
                for name, model in (("baseline", baseline), ("scenario", scenario))}
    assert enrolled["scenario"] > 2 * enrolled["baseline"], enrolled
    for model in (baseline, scenario):
        assert model.outcomes.table().year.min() == 0 and model.outcomes.trace().year.min() == 0
