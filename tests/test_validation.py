"""The validation report (``simcity-kids validate``, experiments/validation.py): every figure has a target range and
a source, the model's value is measured as the figure says, and the table checked into docs/ is this code's."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simcity_kids import __version__
from simcity_kids.cli import main
from simcity_kids.experiments.validation import (FIGURES, _adjusted_learner_gap, _gradient, _participants,
                                                 figures, measure, validate)
from simcity_kids.programmes.base import ENROLLED

DOCS = __import__("pathlib").Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return validate("salem", seeds=2, years=2)


def test_every_figure_has_a_range_a_source_and_the_models_value_with_an_interval(table):
    assert list(table.figure) == [figure.name for figure in figures()]
    assert (table.source.str.len() > 5).all() and (table.low <= table.high).all()
    measured = table.dropna(subset=["model"])
    assert len(measured) >= len(table) - 2  # only the absence bands no simulated pupil reaches may be empty
    assert ((measured.ci_low <= measured.model) & (measured.model <= measured.ci_high)).all()
    assert (table.within == ((table.low <= table.model) & (table.model <= table.high))).all()
    learners = table.set_index("figure").loc["share of pupils who are English learners"]
    assert learners.low == learners.high == pytest.approx(0.17)  # Salem's own figure


def test_programme_effects_are_paired_differences_on_the_programmes_participants(table):
    effects = table.set_index("figure").model
    assert effects["after-school: participants at the end of June, math (SD)"] > 0.1
    assert effects["summer: 20+ day attenders at the end of August, reading and math (SD)"] > 0.02
    treated = SimpleNamespace(children=SimpleNamespace(reach_summer=np.array([ENROLLED, ENROLLED, 0, ENROLLED | 1])))
    baseline = SimpleNamespace(children=SimpleNamespace(reach_summer=np.array([ENROLLED, 0, 0, 1])))
    np.testing.assert_array_equal(_participants("summer")(treated, baseline), [False, True, False, True])


def test_the_absence_gradient_compares_each_band_of_days_missed_with_none():
    math = np.array([1.0, 1.2, 0.8, 0.5, 0.0, -0.2])
    missed = np.array([0, 0, 2, 4, 7, 12])
    gradient = _gradient([(math[:3], missed[:3]), (math[3:], missed[3:])])
    assert gradient == pytest.approx({"1-2": -0.3, "3-4": -0.6, "5-10": -1.1, "more than 10": -1.3})


def test_the_learner_entry_gap_is_adjusted_for_income_and_parental_degree(seed):
    """Learners are poorer here, as in the model: the raw gap is larger than the adjusted one, which the least-squares
    fit recovers (García compares children of the same SES)."""
    rng = np.random.default_rng(seed)
    income = rng.standard_normal(20_000)
    learner = (rng.random(20_000) < 1 / (1 + np.exp(1 + 1.5 * income))).astype(float)
    degree = (rng.random(20_000) < 1 / (1 + np.exp(-income))).astype(float)
    reading = 0.3 * income + 0.25 * degree - 0.2 * learner + 0.5 * rng.standard_normal(20_000)
    math = 0.3 * income + 0.25 * degree - 0.26 * learner + 0.5 * rng.standard_normal(20_000)
    gaps = _adjusted_learner_gap(np.vstack([reading, math, learner, income, degree]))
    assert gaps == pytest.approx((0.2, 0.26), abs=0.03)
    assert reading[learner == 0].mean() - reading[learner == 1].mean() > 0.4  # the raw gap


def test_every_figure_has_a_unique_key_that_measures_it_alone(seed):
    assert len(FIGURES) == len(figures())
    values = measure(["entry_gap_learner_reading", "chronic_absence"], ["chronic_absence_rate"], "salem", seed, 2,
                     {"population.burn_in_years": 0})
    assert values["chronic_absence"] == values["chronic_absence_rate"]  # a figure and the outcome it reads
    assert 0 < values["entry_gap_learner_reading"] < 1


def test_the_command_prints_the_table_and_writes_csv_and_html_with_date_and_version(tmp_path, capsys):
    assert main(["validate", "--seeds", "2", "--years", "2", "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "figures in range" in printed and "college advising" in printed
    header = (tmp_path / "validation.csv").read_text().splitlines()[0]
    assert header.startswith(f"# simcity-kids {__version__}, ") and "Salem, 2 seeds, 2 years" in header
    assert "<table>" in (tmp_path / "validation.html").read_text()
    assert main(["validate", "--years", "1", "--out", str(tmp_path)]) == 2
    assert "--years: must be at least 2" in capsys.readouterr().err


def test_the_report_in_docs_is_this_codes():
    """docs/validation.csv is written by `simcity-kids validate --out docs`: dated, versioned, every figure."""
    lines = (DOCS / "validation.csv").read_text().splitlines()
    assert re.match(r"# simcity-kids \S+, \d{4}-\d{2}-\d{2}: Salem, 5 seeds, 10 years$", lines[0]), lines[0]
    checked_in = pd.read_csv(DOCS / "validation.csv", comment="#")
    assert list(checked_in.figure) == [figure.name for figure in figures()]
    assert (DOCS / "validation.html").exists()
