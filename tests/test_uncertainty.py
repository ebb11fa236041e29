"""Projections over seeds and over draws of the assumption parameters: the split of their spread into seed noise
and not knowing the parameters (``Comparison.uncertainty``), the pooled summary, ``compare --parameter-draws``
and the checks of an uncertainty design.

The split is checked on synthetic runs of a random-effects model with known variances, and on small tables
against the definitions computed here; the command is checked end to end on a small city start.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simcity_kids as sk
from simcity_kids.cli import main
from simcity_kids.experiments.design import assumption_ranges, numeric_value_at
from simcity_kids.experiments.plan import Plan, build_plan, load_plan
from simcity_kids.experiments.report import write_report

from conftest import GENERATED_START

UNCERTAINTY = {"method": "latin", "samples": 3, "parameters": "assumptions", "role": "uncertainty"}
SCENARIOS = ("baseline", "universal_summer")
GAP = "reading_mean_gap/Q5-Q1"
COLUMNS = ["scenario", "point", "replicate", "year", "outcome", "value"]


@pytest.fixture(scope="module")
def plan() -> Plan:
    """An uncertainty plan of the baseline and universal summer (nothing is run)."""
    return build_plan(list(SCENARIOS), "salem", seeds=2, years=1, design=UNCERTAINTY)


def _comparison(plan: Plan, values: pd.DataFrame) -> sk.Comparison:
    """A Comparison of ``plan`` whose runs gave ``values`` (columns as Comparison.values), with no folder."""
    comparison = object.__new__(sk.Comparison)
    comparison.plan = plan
    comparison.__dict__["values"] = values  # what the cached property would have read from the runs
    return comparison


def _random_effects(rng: np.random.Generator, draws: int, seeds: int, parameter_sd: float, seed_sd: float,
                    effect_parameter_sd: float, effect_seed_sd: float) -> pd.DataFrame:
    """Runs of a one-way random-effects model: draw p moves the reference's outcome by N(0, parameter_sd) and each
    run adds seed noise N(0, seed_sd); the other scenario is the reference's run on the same draw and replicate
    (common random numbers) plus an effect -0.2 + N(0, effect_parameter_sd) per draw and N(0, effect_seed_sd)
    per run."""
    shift = rng.normal(0, parameter_sd, draws)[:, None] + rng.normal(0, seed_sd, (draws, seeds))
    reference = 1 + shift
    other = reference - 0.2 + rng.normal(0, effect_parameter_sd, draws)[:, None] \
        + rng.normal(0, effect_seed_sd, (draws, seeds))
    point, replicate = np.meshgrid(range(draws), range(seeds), indexing="ij")
    frames = [pd.DataFrame({"scenario": name, "point": point.ravel(), "replicate": replicate.ravel(), "year": 0,
                            "outcome": GAP, "value": runs.ravel()})
              for name, runs in zip(SCENARIOS, (reference, other))]
    return pd.concat(frames, ignore_index=True)[COLUMNS]


# --- the split of the spread ----------------------------------------------------------------------------------------
def test_the_split_recovers_known_seed_noise_and_parameter_spread(plan, seed):
    draws, seeds, parameter_sd, seed_sd = 2000, 4, 0.3, 0.5
    values = _random_effects(np.random.default_rng(seed), draws, seeds, parameter_sd, seed_sd, 0.1, 0.05)
    table = _comparison(plan, values).uncertainty()
    level = table.loc[("estimate", "baseline", 0, GAP)]
    assert (level["n_draws"], level["n_seeds"]) == (draws, seeds)
    assert level["seed_sd"] == pytest.approx(seed_sd, rel=0.05)
    # The draw means' variance is 0.09 + 0.25 / 4: without taking the seed noise off, s_b would be 0.39.
    assert level["parameter_sd"] == pytest.approx(parameter_sd, rel=0.1)
    share = parameter_sd**2 / (parameter_sd**2 + seed_sd**2 / seeds)  # 0.59 (0.71 without the correction)
    assert level["parameter_share"] == pytest.approx(share, abs=0.05)
    assert level["range_high"] - level["mean"] == pytest.approx(1.96 * math.sqrt(0.09 + 0.25 / seeds), rel=0.05)
    # Paired within the draw and replicate, the common seed noise (0.5) cancels: what is left is the effect's.
    difference = table.loc[("difference", "universal_summer", 0, GAP)]
    assert difference["mean"] == pytest.approx(-0.2, abs=0.01)
    assert difference["seed_sd"] == pytest.approx(0.05, rel=0.05)
    assert difference["parameter_sd"] == pytest.approx(0.1, rel=0.1)
    assert ("difference", "baseline", 0, GAP) not in table.index


def _by_hand(runs: np.ndarray) -> dict[str, float]:
    """The definitions of Comparison.uncertainty, for runs[draw, replicate]."""
    draws, seeds = runs.shape
    within = runs.var(axis=1, ddof=1).mean()
    between = max(0.0, runs.mean(axis=1).var(ddof=1) - within / seeds)
    mean = runs.mean()
    seed_half = stats.t.ppf(0.975, draws * (seeds - 1)) * math.sqrt(within / seeds)
    range_half = 1.96 * math.sqrt(between + within / seeds)
    return {"mean": mean, "seed_sd": math.sqrt(within), "parameter_sd": math.sqrt(between),
            "ci_low": mean - seed_half, "ci_high": mean + seed_half, "range_low": mean - range_half,
            "range_high": mean + range_half, "parameter_share": between / (between + within / seeds)}


@pytest.mark.parametrize("case", ["random", "draws alike"])
def test_every_column_follows_its_definition(plan, seed, case):
    runs = np.random.default_rng(seed).normal(1.0, 0.2, (5, 3))
    if case == "draws alike":  # the draw means' spread is below their seed noise: nothing left for the parameters
        runs = np.array([[1 - a, 1, 1 + a] for a in (0.1, 0.3, 0.2, 0.05, 0.4)])
    point, replicate = np.meshgrid(range(5), range(3), indexing="ij")
    values = pd.DataFrame({"scenario": "baseline", "point": point.ravel(), "replicate": replicate.ravel(),
                           "year": 0, "outcome": GAP, "value": runs.ravel()})[COLUMNS]
    row = _comparison(plan, values).uncertainty().loc[("estimate", "baseline", 0, GAP)]
    expected = _by_hand(runs)
    assert row[list(expected)].to_dict() == pytest.approx(expected, rel=1e-12, abs=1e-15)
    if case == "draws alike":
        assert row["parameter_sd"] == 0 and row["parameter_share"] == 0


def test_one_seed_leaves_the_split_unknown_and_the_range_the_draws_spread(plan):
    means = np.array([1.0, 1.3, 0.8, 1.1])
    values = pd.DataFrame({"scenario": "baseline", "point": range(4), "replicate": 0, "year": 0, "outcome": GAP,
                           "value": means})[COLUMNS]
    row = _comparison(plan, values).uncertainty().loc[("estimate", "baseline", 0, GAP)]
    assert row[["seed_sd", "parameter_sd", "ci_low", "parameter_share"]].isna().all()
    assert row["range_high"] - row["mean"] == pytest.approx(1.96 * means.std(ddof=1))


def test_the_summary_pools_the_draws_into_one_row_per_scenario(plan, seed):
    values = _random_effects(np.random.default_rng(seed), 6, 3, 0.3, 0.1, 0.1, 0.05)
    comparison = _comparison(plan, values)
    summary, table = comparison.summary(), comparison.uncertainty()
    assert summary.index.names == ["scenario", "outcome"] and list(summary.index) == [(s, GAP) for s in SCENARIOS]
    assert list(summary.columns) == ["mean [95% CI over seeds]", "95% range over seeds and parameters",
                                     "share from parameters", "minus baseline: mean [95% CI over seeds]",
                                     "minus baseline: 95% range over seeds and parameters",
                                     "minus baseline: share from parameters"]
    row = table.loc[("difference", "universal_summer", 0, GAP)]
    shown = summary.loc[("universal_summer", GAP)]
    assert shown["minus baseline: mean [95% CI over seeds]"] == (f"{row['mean']:.3f} [{row['ci_low']:.3f}, "
                                                                 f"{row['ci_high']:.3f}]")
    assert shown["minus baseline: 95% range over seeds and parameters"] == (f"[{row['range_low']:.3f}, "
                                                                           f"{row['range_high']:.3f}]")
    assert shown["minus baseline: share from parameters"] == f"{row['parameter_share']:.0%}"
    assert summary.loc[("baseline", GAP), "minus baseline: share from parameters"] == ""


def test_the_role_travels_with_the_plan_and_an_old_manifest_holds_levers(plan):
    data = json.loads(json.dumps(plan.to_json()))
    assert data["design"]["role"] == "uncertainty"
    assert Plan.from_json(data, "manifest.json").pooled
    del data["design"]["role"]  # as written before designs had roles
    old = Plan.from_json(data, "manifest.json")
    assert old.design.role == "levers" and not old.pooled
    assert _comparison(old, pd.DataFrame(columns=COLUMNS)).uncertainty().empty
    levers = build_plan(["baseline"], "salem", seeds=1, years=1)
    table = _comparison(levers, pd.DataFrame(columns=COLUMNS)).uncertainty()
    assert table.empty and list(table.columns) == ["mean", "seed_sd", "parameter_sd", "n_draws", "n_seeds",
                                                   "ci_low", "ci_high", "range_low", "range_high", "parameter_share"]


def test_draws_of_assumed_and_fitted_parameters_stay_near_their_defaults():
    """Each drawn parameter varies by +/- spread x its default, or x the room to its nearest bound if smaller: a
    share near 1 is drawn near it, never up to the bound and far below; fitted parameters are drawn too."""
    ranges = assumption_ranges(sk.ScenarioConfig(), 0.3)
    attendance = sk.ScenarioConfig().needs.normal_attendance  # 0.957 of at most 1: room 0.043
    assert ranges["needs.normal_attendance"] == pytest.approx((attendance - 0.3 * (1 - attendance),
                                                                attendance + 0.3 * (1 - attendance)))
    intercept = sk.ScenarioConfig().leaving_school.graduation_intercept  # fitted; room to -10 and 10 is larger
    assert ranges["leaving_school.graduation_intercept"] == pytest.approx((0.7 * intercept, 1.3 * intercept))
    assert not any(name.startswith("programmes.") for name in ranges)


# --- end to end -----------------------------------------------------------------------------------------------------
def test_compare_with_parameter_draws_runs_every_scenario_at_the_same_draws(tmp_path, seed, capsys):
    files = []
    for name in SCENARIOS:  # started from the generated city (no burn-in), to stay fast
        files.append(tmp_path / f"{name}.toml")
        files[-1].write_text(sk.load_scenario(name)[0].with_overrides(GENERATED_START).to_toml())
    out = tmp_path / "r"
    assert main(["compare", *map(str, files), "--city", "salem", "--seeds", "2", "--seed", str(seed), "--years", "1",
                 "--parameter-draws", "3", "--workers", "1", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "pooled over 3 draws" in printed and "parameter_sd" in printed and "Pareto" not in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["plan"]["design"]["role"] == "uncertainty" and len(manifest["runs"]) == 2 * 3 * 2
    comparison = sk.Comparison(out)
    plan = comparison.plan
    draws = {}
    for spec in plan.runs:
        config = plan.configuration(spec)
        draws.setdefault(spec.point, set()).add(tuple(numeric_value_at(config, n) for n in plan.design.names))
    assert all(len(values) == 1 for values in draws.values())  # both scenarios and both seeds at one draw
    assert len({values.pop() for values in draws.values()}) == 3
    table = comparison.uncertainty()
    assert table["parameter_share"].dropna().between(0, 1).all()
    # Far more than seed noise moves these (the income gap's share varies with 3 draws and 2 seeds).
    levels = table.xs(("estimate", "baseline", 0), level=("kind", "scenario", "year"))
    assert (levels.loc[["chronic_absence_rate", "graduation_rate"], "parameter_sd"] > 0).all()
    # The first summer ends after June's test: paired on the same draw and seed, year 0 differs in nothing.
    difference = table.loc[("difference", "universal_summer", 0, GAP)]
    assert (difference["mean"], difference["seed_sd"], difference["parameter_sd"]) == (0, 0, 0)
    assert "Seed noise and parameter uncertainty" in write_report(out).read_text()


# --- bad input ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("design, key", [('method = "grid"', "design.method"),
                                         ('method = "morris"', "design.method"),
                                         ('method = "latin"\nscenarios = ["universal_summer"]', "design.scenarios")])
def test_an_uncertainty_design_must_be_latin_over_every_scenario(tmp_path, design, key):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\nscenarios = ["baseline", "universal_summer"]\nseeds = 1\nyears = 1\n'
                    f'[design]\n{design}\nparameters = "assumptions"\nrole = "uncertainty"\n')
    with pytest.raises(sk.ConfigError) as caught:
        load_plan(path)
    assert caught.value.source == str(path) and caught.value.key == key
    assert "uncertainty" in caught.value.problem and len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize("flags, expected", [
    (["--parameter-draws", "0"], "--parameter-draws: must be a whole number >= 2 (got '0')"),
    (["--parameter-draws", "many"], "--parameter-draws: must be a whole number >= 2 (got 'many')"),
    (["--parameter-draws", "4", "--spread", "2"], "--spread: must be a number > 0 and <= 1 (got '2')"),
    (["--parameter-draws", "4", "--spread", "nan"], "--spread: must be a number > 0 and <= 1 (got 'nan')"),
    (["--spread", "0.2"], "--spread: only used with --parameter-draws")])
def test_bad_parameter_draws_are_one_line_naming_the_option(tmp_path, capsys, flags, expected):
    out = tmp_path / "r"
    assert main(["compare", "baseline", *flags, "--years", "1", "--out", str(out), "--quiet"]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err.count("\n") == 1 and expected in printed.err, printed.err
    assert not out.exists()
