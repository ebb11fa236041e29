"""Experiments: paired ensembles, the results store, resuming, executors, designs and the experiment files.

Each table is checked against numbers computed here from the runs' own files or from ``sk.run``, not against
the code that made it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simcity_kids as sk
import simcity_kids.programmes
from simcity_kids.cli import main
from simcity_kids.experiments import runner
from simcity_kids.experiments.config import DesignConfig
from simcity_kids.experiments.design import make_design, sensitivity_indices
from simcity_kids.core.output import PARTIAL_PREFIX as PARTIAL

from conftest import TEST_SEED

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.toml"))
CLI = [sys.executable, "-m", "simcity_kids"]
YEARS = 3
SEEDS = 5
GAP = "reading_mean_gap/Q5-Q1"


@pytest.fixture(scope="module")
def summer(tmp_path_factory) -> sk.Comparison:
    """Baseline against universal summer programming, five paired replicates, run serially."""
    return sk.compare(["baseline", "universal_summer"], "salem", seeds=SEEDS, seed=TEST_SEED, years=YEARS,
                      workers=1, out=tmp_path_factory.mktemp("summer") / "results")


def _run_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((folder / "runs").iterdir())}


def _t_interval(values: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def _final(result: sk.RunResult, metric: str, group: str, grade: str = "all") -> float:
    frame = result.outcomes
    rows = frame[(frame.metric == metric) & (frame.group == group) & (frame.grade == grade)]
    return float(rows[rows.year == rows.year.max()].value.iloc[0])


# --- paired ensembles --------------------------------------------------------------------------------------------
def test_replicate_i_of_every_scenario_is_the_run_on_seed_i(summer):
    for replicate in (0, SEEDS - 1):
        for scenario in ("baseline", "universal_summer"):
            alone = sk.run(scenario, "salem", years=YEARS, seed=TEST_SEED + replicate)
            stored = summer.store.outcomes(f"{scenario}-p0000-r{replicate:03d}")
            pd.testing.assert_frame_equal(stored, alone.outcomes, check_categorical=False)


def test_means_and_paired_differences_have_the_t_intervals_of_the_replicates(summer):
    final = YEARS - 1
    runs = {scenario: np.array([_final(sk.run(scenario, "salem", years=YEARS, seed=TEST_SEED + i),
                                       "reading_mean_gap", "Q5-Q1") for i in range(SEEDS)])
            for scenario in ("baseline", "universal_summer")}
    estimate = summer.estimates().loc[("universal_summer", 0, final, GAP)]
    assert estimate["mean"] == pytest.approx(runs["universal_summer"].mean(), rel=1e-12)
    assert (estimate["ci_low"], estimate["ci_high"]) == pytest.approx(_t_interval(runs["universal_summer"]))
    difference = summer.differences().loc[("universal_summer", 0, final, GAP)]
    paired = runs["universal_summer"] - runs["baseline"]
    assert difference["mean"] == pytest.approx(paired.mean(), rel=1e-9) and difference["mean"] < 0
    assert (difference["ci_low"], difference["ci_high"]) == pytest.approx(_t_interval(paired))
    welch = stats.ttest_ind(runs["universal_summer"], runs["baseline"], equal_var=False).confidence_interval()
    assert (difference["unpaired_ci_low"], difference["unpaired_ci_high"]) == pytest.approx(tuple(welch))


def test_the_paired_interval_is_narrower_than_the_unpaired_one_on_the_same_runs(summer):
    table = summer.differences().xs(GAP, level="outcome")
    paired = table["ci_high"] - table["ci_low"]
    unpaired = table["unpaired_ci_high"] - table["unpaired_ci_low"]
    assert (paired < unpaired / 3).all(), pd.DataFrame({"paired": paired, "unpaired": unpaired})


def test_costs_are_the_runs_costs_and_the_gap_closed_per_million_follows_its_definition(summer):
    values = summer.values.pivot_table(index=["scenario", "replicate", "year"], columns="outcome", values="value")
    costs = summer.costs()
    on, off = values.loc["universal_summer"], values.loc["baseline"]
    extra = on["cost_usd/total"] - off["cost_usd/total"]
    closed = -(on[GAP] - off[GAP]) / (extra / 1e6)
    served = {}
    for replicate in range(SEEDS):  # every programme's enrolments, read from the run's own table
        table = summer.store.outcomes(f"universal_summer-p0000-r{replicate:03d}")
        rows = table[(table.group_kind == "all") & (table.grade == "all")
                     & table.metric.isin([f"{name}_enrolled" for name in sk.programmes.REGISTRY])]
        served.update({(replicate, year): value for year, value in rows.groupby("year").value.sum().items()})
    per_child = on["cost_usd/total"] / pd.Series(served).rename_axis(["replicate", "year"])
    for measure, per_run in (("extra_cost_usd", extra), ("gap_closed_per_1m_usd", closed),
                             ("cost_per_child_served_usd", per_child)):
        shown = costs.xs(("universal_summer", 0, measure), level=("scenario", "point", "measure"))["mean"]
        np.testing.assert_allclose(shown, per_run.groupby("year").mean(), rtol=1e-9)
    assert (closed.xs(0, level="year") == 0).all()  # the first summer ends in year 1's August, after June's test
    assert (closed.drop(index=0, level="year") > 0).all() and (extra > 0).all()
    assert (costs.xs(("baseline", "cost_usd"), level=("scenario", "measure"))["mean"] == 0).all()


def test_winners_and_losers_are_counted_child_by_child(summer):
    table = summer.winners_losers()
    shares = []
    for replicate in range(SEEDS):
        on = summer.store.children(f"universal_summer-p0000-r{replicate:03d}")
        off = summer.store.children(f"baseline-p0000-r{replicate:03d}")
        both = on.merge(off, on="id", suffixes=("", "_off"))
        assert len(both) > 0.95 * len(on)  # the same children (stable ids, the same births and moves)
        first = both[both.income_quintile == "Q1"]
        change = first.reading - first.reading_off
        shares.append(((change > 0.05).mean(), (change < -0.05).mean()))
    winners, losers = np.array(shares).T
    row = table.sort_index().loc[("universal_summer", 0, "reading", "income_quintile", "Q1")]
    assert row.loc["winners", "mean"] == pytest.approx(winners.mean())
    assert row.loc["losers", "mean"] == pytest.approx(losers.mean())
    assert winners.mean() > 0.2 and losers.mean() < winners.mean()


def test_a_scenario_compared_with_itself_has_no_difference_and_no_winners(tmp_path):
    twin = sk.ScenarioConfig(name="baseline_again")
    same = sk.compare(["baseline", twin], years=2, seeds=2, seed=TEST_SEED, workers=1, out=tmp_path / "same")
    differences = same.differences()
    assert (differences[["mean", "ci_low", "ci_high"]] == 0).all().all()
    shares = same.winners_losers()["mean"]
    assert len(shares) and (shares == 0).all()


def test_run_one_is_the_final_year_of_the_same_run(summer):
    one = sk.run_one("universal_summer", "salem", years=YEARS, seed=TEST_SEED + 1)
    stored = summer.values.query("scenario == 'universal_summer' and replicate == 1 and year == @YEARS - 1")
    assert one == dict(zip(stored.outcome, stored.value))
    levers = {"programmes__summer__coverage": 0.6, "programmes__summer__phase_in_years": 2.0,
              "programmes.summer.waitlist_order": "lowest_income"}  # what the scenario file sets; 2.0 as a sampler
    assert sk.run_one("baseline", "salem", years=YEARS, seed=TEST_SEED + 1, **levers) == one  # would give it
    assert sk.run_one("baseline", "salem", years=YEARS, seed=TEST_SEED + 1)[GAP] > one[GAP]


# --- the results store ----------------------------------------------------------------------------------------------
def _experiment(tmp_path: Path, seeds: int = 6, years: int = 3) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(f'name = "small"\nscenarios = ["baseline", "universal_summer"]\nseeds = {seeds}\n'
                    f'seed = {TEST_SEED}\nyears = {years}\n')
    return path


def test_the_manifest_records_the_plan_versions_seeds_times_and_statuses(summer):
    manifest = json.loads((summer.folder / "manifest.json").read_text())
    assert manifest["config_hash"] == summer.plan.config_hash()
    assert manifest["versions"]["simcity-kids"] == sk.__version__ and "numpy" in manifest["versions"]
    assert manifest["seeds"] == [TEST_SEED + i for i in range(SEEDS)]
    assert manifest["started_utc"] <= manifest["ended_utc"]
    assert {run["status"] for run in manifest["runs"].values()} == {"done"} and len(manifest["runs"]) == 2 * SEEDS


@pytest.mark.slow
def test_an_experiment_killed_halfway_resumes_to_the_files_of_an_uninterrupted_run(tmp_path):
    path = _experiment(tmp_path, seeds=8)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert main(["experiment", str(path), "--workers", "1", "--out", str(whole), "--quiet"]) == 0
    process = subprocess.Popen([*CLI, "experiment", str(path), "--workers", "2", "--out", str(killed), "--quiet"],
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list((killed / "runs").glob("*-r*.parquet"))) < 12 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the process and its workers, as a power cut would
    process.wait()
    published = [p for p in (killed / "runs").iterdir() if not p.name.startswith(PARTIAL)]
    assert 0 < len([p for p in published if not p.name.endswith(".children.parquet")]) < 16
    for file in published:  # whatever has its final name is whole
        assert pd.read_parquet(file).shape[0] > 0
    before = {file.name: file.stat().st_ino for file in published if not file.name.endswith(".children.parquet")}
    assert main(["experiment", str(path), "--workers", "2", "--out", str(killed), "--resume", "--quiet"]) == 0
    kept = {name: (killed / "runs" / name).stat().st_ino for name in before}
    assert kept == before  # finished runs are not run again
    assert _run_files(killed) == _run_files(whole)
    manifest = json.loads((killed / "manifest.json").read_text())
    assert len(manifest["resumed_utc"]) == 1 and {r["status"] for r in manifest["runs"].values()} == {"done"}


def test_a_write_that_fails_leaves_no_file_under_its_final_name(tmp_path, monkeypatch):
    store = sk.compare(["baseline"], years=1, seeds=1, workers=1, out=tmp_path / "r").store

    def broken(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        store.write_run("extra", b"children", b"outcomes")
    assert not store.done("extra") and not any(p.name.startswith(PARTIAL) for p in store.runs_folder.iterdir())


def test_rerunning_from_the_manifest_gives_bit_identical_files(summer, tmp_path):
    again = tmp_path / "again"
    assert main(["experiment", str(summer.folder / "manifest.json"), "--out", str(again), "--workers", "1",
                 "--quiet"]) == 0
    assert _run_files(again) == _run_files(summer.folder)


def test_a_failed_run_is_recorded_with_its_error_and_the_others_go_on(tmp_path, monkeypatch, capsys):
    real = runner.execute_run

    def sometimes(task, history=None):
        if task.spec.run_id == "universal_summer-p0000-r001":
            raise RuntimeError("provider data missing")
        return real(task, history)
    monkeypatch.setattr(runner, "execute_run", sometimes)
    command = ["compare", "baseline", "universal_summer", "--years", "1", "--seeds", "3", "--workers", "1",
               "--quiet", "--out", str(tmp_path / "r")]
    assert main(command) == 1  # the command says a run failed
    assert "failed: universal_summer-p0000-r001: RuntimeError: provider data missing" in capsys.readouterr().out
    comparison = sk.Comparison(tmp_path / "r")
    runs = comparison.runs().set_index("run_id")
    assert runs.loc["universal_summer-p0000-r001", "status"] == "failed"
    assert "RuntimeError: provider data missing" in runs.loc["universal_summer-p0000-r001", "error"]
    assert (runs.drop("universal_summer-p0000-r001").status == "done").all()
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["runs"]["universal_summer-p0000-r001"]["status"] == "failed"
    assert comparison.differences().xs(("universal_summer", 0, GAP), level=("scenario", "year", "outcome"))[
        "n"].iloc[0] == 2
    monkeypatch.setattr(runner, "execute_run", real)  # resuming redoes the failed run only
    assert main([*command, "--resume"]) == 0
    assert (sk.Comparison(tmp_path / "r").runs().status == "done").all()


def test_an_outcome_the_runs_do_not_report_is_named_with_the_metrics_that_exist(tmp_path):
    comparison = sk.compare(["baseline"], "salem", seeds=1, seed=TEST_SEED, years=1, workers=1,
                            outcomes=["no_such_metric/all"], out=tmp_path / "results")
    with pytest.raises(sk.ConfigError, match="'no_such_metric/all' is not in the runs' outcomes table; metrics: .*"
                       "cost_usd"):
        comparison.estimates()


def test_a_folder_is_resumed_only_by_the_same_experiment(summer, tmp_path, capsys):
    code = main(["experiment", str(summer.folder / "manifest.json"), "--out", str(summer.folder), "--quiet"])
    assert code == 2 and "--resume" in capsys.readouterr().err
    path = _experiment(tmp_path, seeds=2)
    code = main(["experiment", str(path), "--out", str(summer.folder), "--resume", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "holds another experiment" in err and err.count("\n") == 1


# --- executors --------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_serial_process_pool_and_dask_give_identical_files(tmp_path):
    path = _experiment(tmp_path, seeds=3, years=2)
    folders = {}
    for name, flags in (("serial", ["--workers", "1"]), ("pool", ["--workers", "2"]),
                        ("dask", ["--dask", "local", "--workers", "2"])):
        folders[name] = tmp_path / name
        assert main(["experiment", str(path), *flags, "--out", str(folders[name]), "--quiet"]) == 0, name
        manifest = json.loads((folders[name] / "manifest.json").read_text())
        assert manifest["executor"].split()[0] == {"serial": "serial", "pool": "process", "dask": "dask"}[name]
    assert _run_files(folders["pool"]) == _run_files(folders["serial"])
    assert _run_files(folders["dask"]) == _run_files(folders["serial"])


def test_an_unreachable_dask_scheduler_is_a_one_line_error(tmp_path, capsys):
    path = _experiment(tmp_path, seeds=1, years=1)
    code = main(["experiment", str(path), "--dask", "tcp://127.0.0.1:9", "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("simcity-kids: error: --dask: cannot reach") and err.count("\n") == 1


# --- designs and sensitivity ----------------------------------------------------------------------------------------
def _ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_the_ishigami_function_are_recovered():
    bounds = [-math.pi, math.pi]
    design = make_design(DesignConfig(method="sobol", samples=4096, parameters={"x1": bounds, "x2": bounds,
                                                                                 "x3": bounds}), sk.ScenarioConfig())
    table = sensitivity_indices(design, _ishigami(design.samples)).set_index(["index", "parameter"])["value"]
    # analytic indices (Ishigami & Homma 1990; Sobol' & Levitan 1999) for a = 7, b = 0.1
    expected = {("S1", "x1"): 0.3139, ("S1", "x2"): 0.4424, ("S1", "x3"): 0.0,
                ("ST", "x1"): 0.5576, ("ST", "x2"): 0.4424, ("ST", "x3"): 0.2437}
    for key, value in expected.items():
        assert table[key] == pytest.approx(value, abs=0.03), key


def test_morris_ranks_a_linear_functions_inputs_by_their_slopes():
    design = make_design(DesignConfig(method="morris", samples=20, parameters={"a": [0, 1], "b": [0, 1],
                                                                                "c": [0, 1]}), sk.ScenarioConfig())
    outputs = 10 * design.samples[:, 0] - 2 * design.samples[:, 1]
    mu_star = sensitivity_indices(design, outputs).query("index == 'mu_star'").set_index("parameter")["value"]
    assert mu_star.to_dict() == pytest.approx({"a": 10.0, "b": 2.0, "c": 0.0})


def test_grid_and_latin_designs_cover_what_they_say():
    grid = make_design(DesignConfig(method="grid", parameters={"programmes.summer.coverage": [0, 0.5],
                                                               "population.ties_across_city": [1, 2, 3]}),
                       sk.ScenarioConfig())
    assert sorted(map(tuple, grid.samples.tolist())) == [(a, b) for a in (0, 0.5) for b in (1, 2, 3)]
    latin = make_design(DesignConfig(method="latin", samples=10, parameters={"learning.fade_rate": [0.0, 0.1],
                                                                             "population.ties_across_city": [0, 4]}),
                        sk.ScenarioConfig())
    strata = np.floor(latin.samples[:, 0] / 0.01)
    assert sorted(strata) == list(range(10))  # one point in each tenth of the range
    assert np.array_equal(latin.samples[:, 1], np.round(latin.samples[:, 1]))  # a whole-number parameter


def test_a_sensitivity_experiment_gives_indices_from_its_mean_outputs(tmp_path):
    path = tmp_path / "sa.toml"
    path.write_text('name = "sa"\nscenarios = ["baseline"]\nseeds = 1\nyears = 2\n'
                    'outcomes = ["reading_mean_gap/Q5-Q1"]\n'
                    '[design]\nmethod = "morris"\nsamples = 3\n'
                    'parameters = {"early_childhood.readiness_parent_ba" = [0.1, 0.4], "learning.fade_rate" = '
                    '[0.02, 0.06]}\n')
    comparison = sk.run_experiment(path, tmp_path / "r", workers=1)
    design = comparison.plan.design
    final = comparison.values.query("year == 1 and outcome == @GAP").sort_values("point")
    expected = sensitivity_indices(design, final.value.to_numpy())
    shown = comparison.sensitivity().query("outcome == @GAP").drop(columns=["scenario", "outcome"])
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected)
    mu_star = expected.query("index == 'mu_star'").set_index("parameter")["value"]
    assert mu_star["early_childhood.readiness_parent_ba"] > mu_star["learning.fade_rate"]  # the entry gap's source


def test_the_frontier_flags_exactly_the_undominated_options(tmp_path):
    path = tmp_path / "mix.toml"
    path.write_text('name = "mix"\nscenarios = ["baseline", "by_all_means"]\nseeds = 1\nyears = 2\n'
                    '[design]\nmethod = "grid"\nscenarios = ["by_all_means"]\n[design.parameters]\n'
                    '"programmes.summer.coverage" = [0.0, 0.6]\n"programmes.preschool.coverage" = [0.0, 0.9]\n')
    frontier = sk.run_experiment(path, tmp_path / "r", workers=1).frontier()
    assert len(frontier) == 4 and {"programmes.summer.coverage", "efficient"} <= set(frontier.columns)
    for _, row in frontier.iterrows():
        others = frontier.drop(index=row.name)
        beaten = ((others.extra_cost_usd <= row.extra_cost_usd) & (others.gap_closed >= row.gap_closed)
                  & ((others.extra_cost_usd < row.extra_cost_usd) | (others.gap_closed > row.gap_closed))).any()
        assert row.efficient == (not beaten)
    assert frontier.efficient.any()


# --- the experiment files -------------------------------------------------------------------------------------------
def test_the_experiments_folder_holds_the_experiments_the_project_promises():
    names = {path.stem for path in EXPERIMENTS}
    assert {"summer_vs_preschool", "success_plans_budget_sweep", "sensitivity_grade8_income_gap",
            "portfolio_frontier"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda path: path.stem)
def test_every_shipped_experiment_runs_with_a_small_sample(path, tmp_path):
    out = tmp_path / "r"
    result = subprocess.run([*CLI, "experiment", str(path), "--seeds", "1", "--years", "2", "--samples", "1",
                             "--workers", "2", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    comparison = sk.Comparison(out)
    assert (comparison.runs().status == "done").all()
    assert f"{len(comparison.runs())} of {len(comparison.runs())} runs done, 0 failed" in result.stdout
    assert len(comparison.estimates()) > 0
    if comparison.plan.design is not None and comparison.plan.design.method == "morris":
        assert len(comparison.sensitivity()) > 0 and "Sensitivity of" in result.stdout


# --- bad input --------------------------------------------------------------------------------------------------
BAD = {
    "seeds = 0": ("seeds", "must be >= 1"),
    'colour = "red"': ("colour", "unknown key"),
    'outcomes = ["reading_mean_gap/Q5-Q1/13"]': ("outcomes", "grade"),
    'scenarios = ["baseline", "no_such_scenario"]': ("scenarios", "not a file beside the experiment"),
    'city = "atlantis"': ("city", "unknown city"),
    '[overrides]\n"learning.no_such" = 1': ("overrides.learning.no_such", "unknown key"),
    '[design]\nmethod = "factorial"\nparameters = {"learning.fade_rate" = [0, 1]}': ("design.method", "one of"),
    '[design]\nmethod = "sobol"\nparameters = {"learning.fade_rate" = [0.1]}': ("design.parameters", "[low, high]"),
    '[design]\nmethod = "grid"\nparameters = {"learning.nothing" = [0.1]}': ("design.parameters", "not a scenario"),
    '[design]\nmethod = "grid"\nparameters = {"learning.fade_rate" = [0.1, 5.0]}': ("design.parameters", "point 1"),
}


@pytest.mark.parametrize("line", BAD, ids=list(range(len(BAD))))
def test_a_bad_experiment_file_exits_2_with_one_line_naming_the_file_and_key(line, tmp_path, capsys):
    base = {"name": '"bad"', "scenarios": '["baseline"]', "seeds": "1", "years": "1"}
    key = line.split(" = ")[0]
    text = "".join(f"{k} = {v}\n" for k, v in base.items() if k != key) + line + "\n"
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["experiment", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    expected_key, problem = BAD[line]
    assert err.count("\n") == 1 and str(path) in err and f"'{expected_key}'" in err and problem in err, err
    assert not (tmp_path / "r").exists()
