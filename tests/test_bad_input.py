"""Every bad input the hostile-user review found, as written: exit 2 and one clear line naming the file (or the
argument), the key and what is allowed, before any work and with nothing written; or a run, where the input
is valid. City folders (CSV) are in test_city_import.py and output folders in test_output.py."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest

import simcity_kids as sk
from simcity_kids.cli import main
from simcity_kids.scenario import ScenarioConfig

TINY_CITY = """\
name = "Testville"
pupils = 2000
economically_disadvantaged = 0.5
first_language_not_english = 0.2
english_learners = 0.1

[race_shares]
white = 0.5
black = 0.2
latino = 0.2
asian = 0.05
other = 0.05

[layout]
neighborhoods = 4

[school_counts]
elementary = 2
middle = 1
high = 1
"""


def _scenario(folder: Path, text: str | bytes) -> list[str]:
    path = folder / "bad.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return ["run", str(path)]


def _city(folder: Path, old: str, new: str, *more: str) -> list[str]:
    """The tiny city with ``old`` replaced by ``new`` (and each further pair in ``more``)."""
    text = TINY_CITY
    for before, after in zip((old, *more[::2]), (new, *more[1::2])):
        assert before in text
        text = text.replace(before, after, 1)
    path = folder / "city.toml"
    path.write_text(text)
    return ["run", "--city", str(path)]


EDGES = '[[edges]]\na = "N01"\nb = "N02"\nminutes = 5\n\n[[edges]]\na = "N02"\nb = "N01"\nminutes = 9\n'
ONE_HOOD = '[[neighborhoods]]\nname = "Centre"\npopulation_share = 1.0\n\n[school_counts]'

# case: (command line from a temporary folder, fragments the one line must hold)
BAD = {
    # values the schema allowed that crashed the model
    "need shorter than a month": (lambda d: _scenario(d, "[needs.vision]\nduration_months = 0.5\n"),
                                  ["bad.toml", "needs.vision.duration_months", ">= 1", "0.5"]),
    "negative extra children": (lambda d: _scenario(d, "[population]\nextra_children_per_family = -1\n"),
                                ["bad.toml", "population.extra_children_per_family", ">= 0", "-1"]),
    "infinite sibling spread": (lambda d: _scenario(d, "[population]\nsibling_age_spread = inf\n"),
                                ["bad.toml", "population.sibling_age_spread", "finite number", "inf"]),
    "twelve grades of growth": (lambda d: _scenario(d, "[learning]\nannual_gain_by_grade = [1.0" + ", 1.0" * 11
                                                    + "]\n"),
                                ["bad.toml", "learning.annual_gain_by_grade", "at least 13 items", "got 12"]),
    "scenario not UTF-8": (lambda d: _scenario(d, b"name = '\xe9t\xe9'\n"), ["bad.toml", "line 1", "not UTF-8"]),
    "negative race share": (lambda d: _city(d, "white = 0.5", "white = -0.5"),
                            ["city.toml", "race_shares.white", ">= 0", "-0.5"]),
    "NaN race share": (lambda d: _city(d, "white = 0.5", "white = nan"),
                       ["city.toml", "race_shares.white", "finite number", "nan"]),
    "provider capacity 10**30": (lambda d: _city(d, "[layout]", '[[providers]]\nname = "Big"\ntype = "summer"\n'
                                                 'neighborhood = "N01"\ncapacity = ' + str(10**30) + "\n\n[layout]"),
                                 ["city.toml", "providers.0.capacity", "<= 1000000"]),
    "layout an array": (lambda d: _city(d, "[layout]\nneighborhoods = 4\n", "", "pupils = 2000",
                                        "pupils = 2000\nlayout = [7]"),
                        ["city.toml", "layout", "must be a table"]),
    "1,000 nested arrays": (lambda d: _scenario(d, "name = " + "[" * 1000 + "]" * 1000 + "\n"),
                            ["bad.toml", "nested too deeply"]),
    # bad input that ran with exit 0
    "quoted number": (lambda d: _scenario(d, '[programmes.summer]\ncoverage = "0.5"\n'),
                      ["bad.toml", "programmes.summer.coverage", "must be a number", "'0.5'"]),
    "boolean pupils": (lambda d: _city(d, "pupils = 2000", "pupils = true"),
                       ["city.toml", "pupils", "must be a whole number", "True"]),
    "NaN median income": (lambda d: _scenario(d, "[population]\nnational_median_income_usd = nan\n"),
                          ["bad.toml", "population.national_median_income_usd", "finite number"]),
    "infinite cost": (lambda d: _scenario(d, "[programmes.summer]\ncost_per_slot_usd = inf\n"),
                      ["bad.toml", "programmes.summer.cost_per_slot_usd", "finite number"]),
    "unknown key in a mapping": (lambda d: _scenario(d, "[population.race_income_shift]\npurple = 1.0\n"),
                                 ["bad.toml", "population.race_income_shift.purple", "white", "latino"]),
    "duplicate edges": (lambda d: _city(d, "[layout]\nneighborhoods = 4\n", '[[neighborhoods]]\nname = "N01"\n'
                                        'population_share = 0.5\n\n[[neighborhoods]]\nname = "N02"\n'
                                        'population_share = 0.5\n\n' + EDGES),
                        ["city.toml", "edges.1", "'N02' and 'N01' again", "edges.0"]),
    "neighborhood targeting with no list": (lambda d: _scenario(d, "[programmes.summer]\ncoverage = 0.5\n"
                                                                "targeting = 'neighborhoods'\n"),
                                            ["bad.toml", "programmes.summer.neighborhoods", "at least one"]),
    "ages the wrong way round": (lambda d: _scenario(d, "[programmes.summer]\nmin_age = 12\nmax_age = 6\n"),
                                 ["bad.toml", "programmes.summer.min_age", "must not exceed max_age 6", "got 12"]),
    "neighborhood list with other targeting": (lambda d: _scenario(d, "[programmes.summer]\ntargeting = 'income'\n"
                                                                   "neighborhoods = ['The Point']\n"),
                                               ["bad.toml", "programmes.summer.neighborhoods", "only used with "
                                                "targeting = 'neighborhoods'"]),
    "neighbours beyond reach": (lambda d: _city(d, "neighborhoods = 4", "neighborhoods = 4\nspacing_km = 40\n"
                                                "minutes_per_km = 10"),
                                ["city.toml", "layout.minutes_per_km", "at most 192 minutes", "40 x 10"]),
    # unclear refusals
    "layout key out of range": (lambda d: _city(d, "neighborhoods = 4", "neighborhoods = 1"),
                                ["city.toml", "layout.neighborhoods", ">= 2"]),
    "unknown layout key": (lambda d: _city(d, "neighborhoods = 4", "neighborhoods = 4\ncolour = 'red'"),
                           ["city.toml", "layout.colour", "allowed: income_index_sd, minutes_per_km, neighborhoods"]),
    "unknown school count": (lambda d: _city(d, "high = 1", "high = 1\nprimary = 3"),
                             ["city.toml", "school_counts.primary", "allowed: elementary, high, middle"]),
    "self-edge": (lambda d: _city(d, "[layout]\nneighborhoods = 4\n", ONE_HOOD.replace("\n\n[school_counts]", "")
                                  + '\n[[edges]]\na = "Centre"\nb = "Centre"\nminutes = 3\n'),
                  ["city.toml", "edges.0.b", "two different neighborhoods"]),
    "empty city name": (lambda d: ["run", "--city", ""], ["--city: ", "built-in city", "salem", "(got '')"]),
    # sizes refused before anything is allocated
    "a billion schools": (lambda d: _city(d, "elementary = 2", "elementary = 1000000000"),
                          ["city.toml", "school_counts.elementary", "<= 16666"]),
    "a trillion pupils": (lambda d: _city(d, "pupils = 2000", "pupils = 1000000000000"),
                          ["city.toml", "pupils", "<= 5000000"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_one_line_before_any_work(case, tmp_path, capsys):
    make_args, fragments = BAD[case]
    started = time.perf_counter()
    assert main([*make_args(tmp_path), "--years", "1", "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert time.perf_counter() - started < 10  # refused, not simulated or allocated (a run here takes ~1 s)
    printed = capsys.readouterr()
    message = printed.err.rstrip("\n")
    assert printed.out == "" and len(message.splitlines()) == 1, message
    assert message.startswith("simcity-kids: error: ")
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_scenario_file_is_one_line(tmp_path, capsys):
    args = _scenario(tmp_path, "name = 'x'\n")
    Path(args[1]).chmod(0)
    assert main([*args, "--quiet"]) == 2
    assert "bad.toml: scenario file cannot be read (permission denied)" in capsys.readouterr().err


def test_a_folder_given_as_scenario_is_one_line(tmp_path, capsys):
    assert main(["run", str(tmp_path), "--quiet"]) == 2
    assert "is a folder; expected a scenario file" in capsys.readouterr().err


# valid input that was refused
def test_a_section_with_one_key_keeps_the_other_defaults(tmp_path):
    path = tmp_path / "vision.toml"
    path.write_text("[needs.vision]\nprevalence_other = 0.1\n\n[population.race_income_shift]\nwhite = 0.5\n")
    config, _ = sk.load_scenario(path)
    default = ScenarioConfig()
    assert config.needs.vision.prevalence_other == 0.1
    assert config.needs.vision.duration_months == default.needs.vision.duration_months
    assert config.needs.vision.prevalence_disadvantaged == default.needs.vision.prevalence_disadvantaged
    assert config.population.race_income_shift["white"] == 0.5
    assert config.population.race_income_shift["latino"] == default.population.race_income_shift["latino"]
    assert sk.run(config, city="salem", years=1, scale=10).outcomes.value.notna().all()


def test_a_one_neighborhood_city_runs(tmp_path, seed):
    path = tmp_path / "city.toml"
    path.write_text(TINY_CITY.replace("[layout]\nneighborhoods = 4\n", ONE_HOOD.replace("\n\n[school_counts]", "")))
    result = sk.run(city=path, years=1, seed=seed)
    assert result.city.neighborhoods[0].name == "Centre" and result.outcomes.value.notna().all()


# The Python API: ConfigError, one line, naming the argument.
def _with_overrides(overrides):
    return ScenarioConfig().with_overrides(overrides)


API = {
    "run years text": (lambda: sk.run(years="abc"), "years: must be a whole number between 1 and 20 (got 'abc')"),
    "run years float": (lambda: sk.run(years=2.0), "years: must be a whole number"),
    "run years 0": (lambda: sk.run(years=0), "years: must be a whole number between 1 and 20 (got 0)"),
    "run seed bool": (lambda: sk.run(seed=True), "seed: must be a whole number >= 0 (got True)"),
    "run scale 0": (lambda: sk.run(scale=0), "scale: must be a number between 1 and 1000 (got 0)"),
    "run scale nan": (lambda: sk.run(scale=math.nan), "scale: must be a number between 1 and 1000 (got nan)"),
    "run progress text": (lambda: sk.run(progress="yes"), "progress: must be True or False (got 'yes')"),
    "run city number": (lambda: sk.run(city=5), "city: must be a built-in city"),
    "run unknown city": (lambda: sk.run(city="atlantis"), "city: unknown city 'atlantis'; allowed: a built-in city"),
    "run scenario number": (lambda: sk.run(scenario=5), "scenario: must be a ScenarioConfig"),
    "model seed -1": (lambda: sk.CityModel(seed=-1), "seed: must be a whole number >= 0 (got -1)"),
    "model years 21": (lambda: sk.CityModel(years=21), "years: must be a whole number between 1 and 20 (got 21)"),
    "load_scenario unknown name": (lambda: sk.load_scenario("no_such_scenario"), "scenario: unknown scenario "
                                   "'no_such_scenario'; allowed: a ScenarioConfig, the path of a scenario TOML file, "
                                   "or a shipped name (after_school, baseline,"),
    "load_scenario missing file": (lambda: sk.load_scenario("no_such_scenario.toml"), "no_such_scenario.toml: "
                                   "scenario file not found"),
    "load_scenario list": (lambda: sk.load_scenario(["a"]), "scenario: must be a ScenarioConfig"),
    "load_city None": (lambda: sk.load_city(None), "city: must be a built-in city"),
    "load_city empty": (lambda: sk.load_city(""), "city: must be a built-in city"),
    "synthetic no pupils": (lambda: sk.synthetic_city(0), "pupils: must be a whole number between 13 and 5,000,000 "
                            "(got 0)"),
    "synthetic one neighborhood": (lambda: sk.synthetic_city(1000, n_neighborhoods=1), "n_neighborhoods: must be"),
    "synthetic seed -1": (lambda: sk.synthetic_city(1000, seed=-1), "seed: must be a whole number >= 0"),
    "overrides not a dict": (lambda: _with_overrides("coverage=1"), "overrides: must be a dict"),
    "overrides unknown section": (lambda: _with_overrides({"programmes.winter.coverage": 1.0}),
                                  "overrides: key 'programmes.winter': unknown section"),
    "overrides through a value": (lambda: _with_overrides({"name.first": "x"}),
                                  "overrides: key 'name': is a value, not a section"),
    "overrides unknown key": (lambda: _with_overrides({"programmes.summer.colour": 1}),
                              "overrides: key 'programmes.summer.colour': unknown key; allowed: "),
    "overrides wrong type": (lambda: _with_overrides({"programmes.summer.coverage": "0.5"}),
                             "overrides: key 'programmes.summer.coverage': must be a number (got '0.5')"),
}


@pytest.mark.parametrize("case", list(API))
def test_the_python_api_raises_one_line_config_error_naming_the_argument(case):
    call, expected = API[case]
    with pytest.raises(sk.ConfigError) as caught:
        call()
    message = str(caught.value)
    assert expected in message and len(message.splitlines()) == 1, message
