"""The vectorised model agrees in distribution with a one-agent-per-child reference of the same rules.

Both start from the same children (the reference, ``benchmarks/reference_model.py``, copies the fast
model's state before its first step) and run 24 months, September to August twice, with no programme
acting (Salem without its summer providers). Their draws differ, so only distributions are compared, over
the starting children still in the city at the end (the September turnover drops 17-year-olds in both):

* school-age children (5-17), per starting income quintile: mean reading and mean math agree within
  0.05 SD, and mean attendance in the last school month within 0.005 (half a point of school days);
* school-age children overall: the SD of reading and of math agree within 10%, and so does the SD of each
  child's change since the start (the levels' SD is mostly the starting spread, which both share; the
  change is what the monthly rules produce);
* children still under 5: readiness growth has no draws, so their scores agree child by child.

Under the default (weak) summer loss, doubling the summer drift moves a quintile mean by under 0.02 SD
over two summers, below what 5,000 children can show; the strong-summer-loss scenario makes it visible.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import simcity_kids as sk

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from reference_model import ReferenceModel, observed_attendance, observed_scores, starting_rows  # noqa: E402

_SALEM = sk.load_city("salem")
CITY = _SALEM.model_copy(update={"providers": [p for p in _SALEM.providers if p.type != "summer"]})
SEED = 3
MONTHS = 24  # two summers and one September turnover
MEAN_TOLERANCE = 0.05  # SD
SD_TOLERANCE = 0.10  # relative
ATTENDANCE_TOLERANCE = 0.005  # share of school days
YOUNG_TOLERANCE = 1e-4  # SD: float32 against float64 arithmetic


def run_pair(scenario: str, months: int = MONTHS) -> dict:
    """Run the fast model and its reference side by side; the state of the children both still hold.

    The fast model drops leavers in place (keeping row order) and appends births, so after a turnover its
    first rows are the starting children who stayed, in starting order. That is checked, not assumed.
    """
    fast = sk.CityModel(scenario, city=CITY, seed=SEED, years=3)
    start = fast.children
    family0, endowment0 = start.family.copy(), start.endowment_reading.copy()
    quintile0 = start.income_quintile.copy()
    reading0, math0 = (a.copy() for a in fast.learning.observed(fast))
    reference = ReferenceModel(fast, seed=SEED)
    for _ in range(months):
        fast.step()
        reference.step()

    rows = starting_rows(reference)
    kept = rows.size
    children = fast.children
    assert np.array_equal(children.family[:kept], family0[rows]), "fast model's rows no longer match"
    assert np.array_equal(children.endowment_reading[:kept], endowment0[rows]), "fast model's rows no longer match"
    assert (children.age[kept:] == 0).all(), "rows after the starting children should all be births"

    ref_reading, ref_math, ref_quintile, ref_age = observed_scores(reference)
    fast_reading, fast_math = (a[:kept] for a in fast.learning.observed(fast))
    assert np.array_equal(ref_age, children.age[:kept]), "ages differ: the reference ages differently"
    assert np.array_equal(ref_quintile, quintile0[rows])
    return {
        "fast": {"reading": fast_reading, "math": fast_math, "attendance": children.attendance[:kept]},
        "reference": {"reading": ref_reading, "math": ref_math, "attendance": observed_attendance(reference)},
        "start": {"reading": reading0[rows], "math": math0[rows]},
        "quintile": ref_quintile, "age": ref_age,
    }


def disagreements(pair: dict) -> list[str]:
    """Every comparison outside its tolerance, as readable lines (empty when the models agree)."""
    pupils = (pair["age"] >= 5) & (pair["age"] <= 17)
    quintile = pair["quintile"][pupils]
    fast, ref, start = pair["fast"], pair["reference"], pair["start"]
    problems = []
    for subject, tolerance in (("reading", MEAN_TOLERANCE), ("math", MEAN_TOLERANCE),
                               ("attendance", ATTENDANCE_TOLERANCE)):
        f, r = fast[subject][pupils], ref[subject][pupils]
        for q in range(5):
            gap = float(r[quintile == q].mean() - f[quintile == q].mean())
            if abs(gap) > tolerance:
                problems.append(f"{subject} Q{q + 1} mean: reference - fast = {gap:+.4f}")
    for subject in ("reading", "math"):
        f, r, s = fast[subject][pupils], ref[subject][pupils], start[subject][pupils]
        for label, a, b in (("SD", f, r), ("SD of change", f - s, r - s)):
            ratio = float(b.std() / a.std())
            if abs(ratio - 1) > SD_TOLERANCE:
                problems.append(f"{subject} {label}: reference / fast = {ratio:.3f}")
        young = pair["age"] < 5
        worst = float(np.abs(ref[subject][young] - fast[subject][young]).max())
        if worst > YOUNG_TOLERANCE:
            problems.append(f"{subject} under 5: largest child difference {worst:.2g} SD")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["baseline", "strong_summer_loss"])
def test_reference_model_agrees_with_fast_model(scenario):
    pair = run_pair(scenario)
    assert ((pair["age"] >= 5) & (pair["age"] <= 17)).sum() > 3500  # Salem's pupils
    assert (pair["age"] < 5).sum() > 1000  # children still before kindergarten
    assert disagreements(pair) == []
