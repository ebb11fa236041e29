"""Calibration (``simcity-kids calibrate``, experiments/calibration.py): a fit recovers parameters that made its
targets, resumes where it stopped, writes a parameter file a scenario includes, and refuses bad targets files by
name; the defaults are the shipped fit of the evidence."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib

import simcity_kids as sk
from simcity_kids.cli import main
from simcity_kids.experiments import calibration as calibration_module
from simcity_kids.experiments.calibration import calibrate, load_calibration
from simcity_kids.experiments.design import numeric_value_at
from simcity_kids.experiments.validation import measure
from simcity_kids.scenario import parameter_overrides

ROOT = Path(__file__).resolve().parent.parent
EVIDENCE = ROOT / "experiments" / "calibration"
FAST = {"population.burn_in_years": 0}  # these fits need no steady state: the test is of the search
TRUTH = {"leaving_school.graduation_intercept": 1.2, "needs.attendance_child_sd": 0.05}
RANGES = {"leaving_school.graduation_intercept": (0.0, 3.0), "needs.attendance_child_sd": (0.01, 0.09)}
TOLERANCE = {"leaving_school.graduation_intercept": 0.15, "needs.attendance_child_sd": 0.004}  # 5% of each range


def targets_file(folder: Path, values: dict[str, float], max_evaluations: int, seed: int, **extra: str) -> Path:
    """A targets file fitting TRUTH's two parameters to the graduation rate and chronic absence in ``values``."""
    ranges = "\n".join(f'"{name}" = [{low}, {high}]' for name, (low, high) in RANGES.items())
    text = (f'name = "synthetic"\ncity = "salem"\nseeds = 2\nseed = {seed}\nyears = 2\n'
            f"max_evaluations = {max_evaluations}\n"
            'overrides = { "population.burn_in_years" = 0 }\n'
            + "".join(f"{key} = {value}\n" for key, value in extra.items())
            + f"[parameters]\n{ranges}\n"
            f'[[targets]]\noutcome = "graduation_rate"\nvalue = {values["graduation_rate"]}\nsd = 0.005\n'
            f'[[targets]]\nfigure = "chronic_absence"\nvalue = {values["chronic_absence"]}\nsd = 0.005\n')
    path = folder / "targets.toml"
    path.write_text(text)
    return path


def synthetic_targets(seed: int) -> dict[str, float]:
    """The figures the model gives at TRUTH, on the fit's own seeds (common random numbers)."""
    per_seed = [measure(["chronic_absence"], ["graduation_rate"], sk.load_city("salem"), s, 2, {**FAST, **TRUTH})
                for s in (seed, seed + 1)]
    return {key: float(np.mean([values[key] for values in per_seed])) for key in per_seed[0]}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["powell", "nelder-mead"])
def test_a_fit_recovers_the_parameters_that_made_its_targets(tmp_path, seed, method):
    """Targets made at known values of two parameters (graduation intercept, attendance spread between
    children), a search started from the defaults: the fit lands within 5% of each range, by either search."""
    path = targets_file(tmp_path, synthetic_targets(seed), max_evaluations=45, seed=seed, method=f'"{method}"')
    fit = calibrate(load_calibration(path), tmp_path / "fit", workers=1)
    for name, truth in TRUTH.items():
        assert abs(fit.fitted[name] - truth) < TOLERANCE[name], (name, fit.fitted[name], truth)
    assert fit.misfit_fitted < fit.misfit_start / 20
    written = tomllib.loads((tmp_path / "fit" / "fitted.toml").read_text())
    assert written["leaving_school"]["graduation_intercept"] == fit.fitted["leaving_school.graduation_intercept"]
    assert (tmp_path / "fit" / "fit.csv").read_text().startswith("target,value,sd,source,model_start")


def test_an_interrupted_fit_resumes_without_running_its_candidates_again(tmp_path, seed, monkeypatch):
    values = {"graduation_rate": 0.8, "chronic_absence": 0.15}
    path = targets_file(tmp_path, values, max_evaluations=10, seed=seed)
    first = calibrate(load_calibration(path), tmp_path / "fit", workers=1)
    log_path = tmp_path / "fit" / "evaluations.csv"
    log = log_path.read_text().splitlines()
    candidates = len(log) - 2  # under the stamp and the header, each candidate run, the rounded fit's included
    assert len(first.evaluations) == 10 and candidates >= 10
    # The misfit is the sum of the squared misses in sds, at the start and at the fit, and the fit is the best seen.
    assert first.misfit_start == pytest.approx((first.table.miss_start_sd ** 2).sum())
    assert first.misfit_fitted == pytest.approx((first.table.miss_fitted_sd ** 2).sum())
    assert first.evaluations.misfit.min() <= first.misfit_start
    log_path.write_text("\n".join(log[:5]) + "\n" + log[5][:7])  # interrupted while writing the fourth candidate
    runs = []
    original = calibration_module.measure
    monkeypatch.setattr(calibration_module, "measure", lambda *a: runs.append(a[3]) or original(*a))
    again = calibrate(load_calibration(path), tmp_path / "fit", workers=1, resume=True)
    assert again.fitted == first.fitted and again.misfit_fitted == first.misfit_fitted
    assert len(runs) == 2 * (candidates - 3)  # two seeds of each candidate not written whole
    assert len(log_path.read_text().splitlines()) == 2 + candidates + 1  # and the cut line, left as it was
    with pytest.raises(sk.ConfigError, match="--resume"):
        calibrate(load_calibration(path), tmp_path / "fit", workers=1)
    runs.clear()  # a larger budget goes on from the candidates run
    longer = calibrate(load_calibration(path, max_evaluations=12), tmp_path / "fit", workers=1, resume=True)
    assert len(longer.evaluations) == 12 and len(runs) <= 2 * 3 and longer.misfit_fitted <= first.misfit_fitted


def test_a_scenario_includes_a_parameter_file_and_its_own_values_win(tmp_path):
    (tmp_path / "fit.toml").write_text("[needs]\nattendance_child_sd = 0.05\n[leaving_school]\n"
                                       "graduation_intercept = 1.5\n")
    (tmp_path / "mine.toml").write_text('name = "mine"\ninclude = ["fit.toml"]\n[leaving_school]\n'
                                        "graduation_intercept = 2.5\n")
    config, _ = sk.load_scenario(tmp_path / "mine.toml")
    assert config.needs.attendance_child_sd == 0.05
    assert config.leaving_school.graduation_intercept == 2.5
    assert config.needs.attendance_month_sd == sk.ScenarioConfig().needs.attendance_month_sd
    (tmp_path / "fit.toml").write_text("[needs]\nattendance_child_sd = 5\n")
    with pytest.raises(sk.ConfigError, match=r"fit\.toml: key 'needs\.attendance_child_sd': must be <= 0\.3"):
        sk.load_scenario(tmp_path / "mine.toml")
    (tmp_path / "mine.toml").write_text('include = "fit.toml"\n')
    with pytest.raises(sk.ConfigError, match=r"mine\.toml: key 'include': must be an array"):
        sk.load_scenario(tmp_path / "mine.toml")


def test_validate_includes_a_parameter_file_in_every_run(tmp_path, capsys):
    (tmp_path / "fit.toml").write_text("[leaving_school]\ngraduation_intercept = -3.0\n[needs]\n"
                                       "attendance_month_sd = 0.05\n")
    assert parameter_overrides(tmp_path / "fit.toml") == {"leaving_school.graduation_intercept": -3.0,
                                                          "needs.attendance_month_sd": 0.05}
    assert main(["validate", "--seeds", "1", "--years", "2", "--include", str(tmp_path / "fit.toml"), "--out",
                 str(tmp_path / "report"), "--quiet"]) == 0
    capsys.readouterr()
    lines = (tmp_path / "report" / "validation.csv").read_text().splitlines()
    assert lines[0].endswith(f"parameters from {tmp_path / 'fit.toml'}")
    table = pd.read_csv(tmp_path / "report" / "validation.csv", comment="#").set_index("key")
    assert table.loc["graduation", "model"] < 0.3  # about 87% with the defaults


@pytest.mark.parametrize(("change", "message"), [
    ('figure = "nonsense"', r"targets\.0\.figure': unknown figure 'nonsense'; allowed: entry_gap_income_reading"),
    ('outcome = "graduation_rate"', r"give exactly one of 'figure'"),
    ('"needs.nonsense" = [0, 1]', r"key 'parameters': 'needs\.nonsense' is not a numeric scenario parameter"),
    ('"needs.attendance_child_sd" = [0.01, 0.5]', r"leaves the parameter's allowed range \[0, 0\.3\]"),
    ('"learning.summer_loss" = [0, 1]', r"'learning\.summer_loss' is not a numeric scenario parameter"),
])
def test_a_bad_targets_file_is_named_with_its_key(tmp_path, change, message):
    text = ('name = "bad"\n[parameters]\n"needs.attendance_month_sd" = [0.01, 0.1]\n'
            '[[targets]]\nfigure = "chronic_absence"\nvalue = 0.14\nsd = 0.01\n')
    if change.startswith('"'):
        text = text.replace('"needs.attendance_month_sd" = [0.01, 0.1]', change)
    else:
        text = text.replace('figure = "chronic_absence"', f'figure = "chronic_absence"\n{change}'
                            if change.startswith("outcome") else change)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(sk.ConfigError, match=message) as caught:
        load_calibration(path)
    assert str(caught.value).startswith(str(path))


def test_the_command_fits_prints_and_names_its_files(tmp_path, seed, capsys):
    path = targets_file(tmp_path, {"graduation_rate": 0.8, "chronic_absence": 0.15}, max_evaluations=3, seed=seed)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "leaving_school.graduation_intercept" in printed and "misfit" in printed
    assert "fitted.toml (include it in a scenario)" in printed
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(["calibrate", str(path), "--city", "atlantis", "--quiet"]) == 2
    assert "--city: unknown city 'atlantis'" in capsys.readouterr().err


def test_the_defaults_are_the_shipped_fit_of_the_evidence():
    """experiments/calibration/evidence/fitted.toml is written by calibrating evidence.toml; each fitted default
    in the code says so in its source, so the two cannot drift apart unnoticed."""
    fitted = tomllib.loads((EVIDENCE / "evidence" / "fitted.toml").read_text())
    defaults = sk.ScenarioConfig()
    fitted_paths = [f"{section}.{key}" for section, values in fitted.items() for key in values]
    assert set(fitted_paths) == set(load_calibration(EVIDENCE / "evidence.toml").names)
    for path in fitted_paths:
        section, key = path.split(".")
        assert numeric_value_at(defaults, path) == fitted[section][key], path
        source = type(getattr(defaults, section)).model_fields[key].json_schema_extra["source"]
        assert re.search(r"fitted: experiments/calibration/evidence\.toml", source), (path, source)
