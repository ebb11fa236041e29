"""The command line: a normal run, and bad input that gets exit status 2 and one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simcity_kids.cli import main

SALEM = Path(__file__).resolve().parent.parent / "simcity_kids" / "city" / "cities" / "salem.toml"


def test_run_writes_outcomes_and_prints_gap_table(tmp_path, capsys, seed):
    assert main(["run", "--years", "2", "--seed", str(seed), "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Reading gaps" in printed and "income Q5-Q1" in printed and "white-Latino" in printed
    parquet = pd.read_parquet(tmp_path / "outcomes.parquet")
    csv = pd.read_csv(tmp_path / "outcomes.csv")
    assert list(parquet.columns) == ["year", "grade", "group_kind", "group", "metric", "value"]
    assert len(parquet) == len(csv) > 1000 and sorted(parquet.year.unique()) == [0, 1]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["scenario"] == "baseline" and manifest["city"] == "Salem" and manifest["seed"] == seed
    assert len(manifest["config_hash"]) == 64 and manifest["package_version"]


def test_scenario_file_changes_the_config_hash(tmp_path):
    assert main(["run", "--years", "1", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["run", "scenarios/universal_summer.toml", "--years", "1", "--out", str(tmp_path / "b"),
                 "--quiet"]) == 0
    hashes = {json.loads((tmp_path / d / "manifest.json").read_text())["config_hash"] for d in "ab"}
    assert len(hashes) == 2


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def _city_with(folder: Path, old: str, new: str) -> str:
    text = SALEM.read_text()
    assert old in text
    return _write(folder, "city.toml", text.replace(old, new, 1))


BAD_INPUTS = {
    "malformed TOML": (lambda d: ["run", _write(d, "bad.toml", "name = 'x'\n[programmes.summer\n")],
                       ["bad.toml", "not valid TOML"]),
    "unknown key": (lambda d: ["run", _write(d, "bad.toml", "[programmes.summer]\ncoverrage = 0.5\n")],
                    ["bad.toml", "programmes.summer.coverrage", "unknown key", "coverage"]),
    "wrong type": (lambda d: ["run", _write(d, "bad.toml", "[programmes.summer]\ncoverage = 'lots'\n")],
                   ["bad.toml", "programmes.summer.coverage", "number"]),
    "out of range": (lambda d: ["run", _write(d, "bad.toml", "[programmes.summer]\ncoverage = 1.5\n")],
                     ["bad.toml", "programmes.summer.coverage", "<= 1"]),
    "not an allowed choice": (lambda d: ["run", _write(d, "bad.toml", "[learning]\nsummer_loss = 'huge'\n")],
                              ["bad.toml", "learning.summer_loss", "'weak'", "'strong'"]),
    "missing scenario file": (lambda d: ["run", str(d / "nowhere.toml")], ["nowhere.toml", "not found"]),
    "unknown city": (lambda d: ["run", "--city", "atlantis"], ["atlantis", "salem", "allowed"]),
    "unknown neighborhood": (
        lambda d: ["run", _write(d, "bad.toml", "[programmes.summer]\ntargeting = 'neighborhoods'\n"
                                 "neighborhoods = ['Nowhere']\n")],
        ["bad.toml", "programmes.summer.neighborhoods", "Nowhere", "The Point"]),
    "city shares not summing to one": (lambda d: ["run", "--city", _city_with(d, "white = 0.50", "white = 0.70")],
                                       ["city.toml", "race_shares", "sum to 1"]),
    "city negative capacity": (lambda d: ["run", "--city", _city_with(d, "capacity = 180", "capacity = -5")],
                               ["city.toml", "providers.0.capacity", ">= 0"]),
    "city with neighborhoods and a layout": (
        lambda d: ["run", "--city", _write(d, "city.toml", SALEM.read_text() + "\n[layout]\nneighborhoods = 4\n")],
        ["city.toml", "either neighborhoods or layout"]),
    "years out of range": (lambda d: ["run", "--years", "99"], ["--years", "between 1 and 20"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_clear_line(case, tmp_path, capsys):
    make_args, expected = BAD_INPUTS[case]
    assert main([*make_args(tmp_path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("simcity-kids: error: ")
    for fragment in expected:
        assert fragment in message, (fragment, message)
    assert not (tmp_path / "out").exists()


# Usage errors: argparse's multi-line usage message is replaced by the same one line as for any bad input.
COMMAND_LIST = ("'run', 'compare', 'experiment', 'report', 'dashboard', 'validate', 'calibrate', 'cities', "
                "'scenarios', 'parameters'")
USAGE_ERRORS = {
    "years not a whole number": (["run", "--years", "abc"], ["--years: ", "whole number between 1 and 20", "'abc'"]),
    "seed not a whole number": (["run", "--seed", "1.5"], ["--seed: ", "whole number >= 0", "'1.5'"]),
    "scale not a number": (["run", "--scale", "lots"], ["--scale: ", "number between 1 and 1000", "'lots'"]),
    "unknown flag": (["run", "--colour"], ["--colour", "see 'simcity-kids run --help'"]),
    "unknown command": (["simulate"], ["command: ", "'simulate'", COMMAND_LIST, "see 'simcity-kids --help'"]),
    "no command": ([], ["command", COMMAND_LIST, "see 'simcity-kids --help'"]),
    "missing value": (["run", "--city"], ["--city: ", "expected one argument", "see 'simcity-kids run --help'"]),
}


@pytest.mark.parametrize("case", list(USAGE_ERRORS))
def test_usage_error_exits_2_with_one_clear_line(case, capsys):
    argv, expected = USAGE_ERRORS[case]
    assert main(argv) == 2
    printed = capsys.readouterr()
    message = printed.err.strip()
    assert printed.out == "" and len(message.splitlines()) == 1, message
    assert message.startswith("simcity-kids: error: ")
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_bad_input_from_a_real_process_has_no_traceback(tmp_path):
    scenario = _write(tmp_path, "bad.toml", "[programmes.summer]\ncoverage = -1\n")
    done = subprocess.run([sys.executable, "-m", "simcity_kids", "run", scenario], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "programmes.summer.coverage" in done.stderr


def test_usage_error_from_a_real_process_is_one_line():
    done = subprocess.run([sys.executable, "-m", "simcity_kids", "run", "--years", "abc"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("simcity-kids: error: --years: must be a whole number between 1 and 20 (got 'abc'); "
                           "see 'simcity-kids run --help'\n")


def test_help_lists_run():
    done = subprocess.run([sys.executable, "-m", "simcity_kids", "run", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--city" in done.stdout and "--seed" in done.stdout
