"""College advising: advised seniors complete the FAFSA and enrol in college more often than the same seniors
without the programme; graduation does not move."""

from __future__ import annotations

import numpy as np

import simcity_kids as sk
from simcity_kids.rules.leaving import FINAL_GRADE_AGE
from simcity_kids.scenario import ScenarioConfig

JUNES = (9, 21)  # step indices of June in years 0 and 1


def _june_seniors(seed: int) -> list[tuple[sk.CityModel, sk.CityModel]]:
    """Each June, just after graduation and college were decided: the run with advising and the baseline."""
    config = ScenarioConfig().with_overrides({"programmes.college_advising.coverage": 0.8})
    advised, baseline = sk.CityModel(config, seed=seed, years=2), sk.CityModel(seed=seed, years=2)
    junes = []
    for month in range(JUNES[-1] + 1):
        advised.step()
        baseline.step()
        if month in JUNES:
            np.testing.assert_array_equal(advised.children.id, baseline.children.id)
            junes.append((_snapshot(advised), _snapshot(baseline)))
    return junes


def _snapshot(model: sk.CityModel) -> dict[str, np.ndarray]:
    """What decided each senior's college enrolment this June (scores and attendance as leaving.py saw them)."""
    children = model.children
    reading, math = model.learning.observed(model)
    return {"senior": children.age == FINAL_GRADE_AGE, "advised": children.college_advised.copy(),
            "fafsa": children.fafsa_completed.copy(), "graduated": children.graduated.copy(),
            "college": children.college.copy(), "score": 0.5 * (reading + math),
            "attendance": model.needs.yearly_attendance(model) - model.needs.params.normal_attendance,
            "model": model}


def _college_chance(run: dict, advised: np.ndarray) -> np.ndarray:
    """Each senior's college chance once graduated, with the shifts college advising adds."""
    model = run["model"]
    c = model.config.programmes.college_advising
    direct = c.college_logit_effect - c.fafsa_college_logit * (c.fafsa_rate_advised - c.fafsa_rate)
    shift = c.fafsa_college_logit * (run["fafsa"] - c.fafsa_rate) + direct * advised
    return model.leaving_school.chances(run["score"], run["attendance"], 0.0, shift)[1]


def test_advised_seniors_enrol_in_college_more_and_graduation_does_not_move(seed):
    """Same seed: the seniors only the programme advised complete the FAFSA at the advised rate and enrol in
    college by as much more as their chances say; nobody else changes, and graduation is the same for all."""
    flips, expected, variance, newly_total, fafsa = 0, 0.0, 0.0, 0, []
    for with_programme, without in _june_seniors(seed):
        seniors = with_programme["senior"]
        np.testing.assert_array_equal(seniors, without["senior"])
        np.testing.assert_array_equal(with_programme["graduated"], without["graduated"])
        newly = seniors & with_programme["advised"] & ~without["advised"]
        same = seniors & (with_programme["advised"] == without["advised"])
        np.testing.assert_array_equal(with_programme["college"][same], without["college"][same])
        # Common random numbers: a higher chance can only turn a 'no' into a 'yes'.
        assert not (with_programme["fafsa"] < without["fafsa"])[newly].any()
        assert not (with_programme["college"] < without["college"])[newly].any()
        fafsa.append(with_programme["fafsa"][newly])
        graduates = newly & with_programme["graduated"]
        gain = (_college_chance(with_programme, with_programme["advised"])
                - _college_chance(without, without["advised"]))[graduates]
        assert (gain > 0).all()
        flips += int((with_programme["college"] & ~without["college"])[graduates].sum())
        expected += float(gain.sum())
        variance += float((gain * (1 - gain)).sum())
        newly_total += int(graduates.sum())
    assert newly_total > 200
    config = ScenarioConfig().programmes.college_advising
    completed = np.concatenate(fafsa)
    rate = config.fafsa_rate_advised
    assert abs(completed.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / completed.size)
    assert expected / newly_total > 0.05  # about 8 points, as in Bettinger et al. 2012
    assert abs(flips - expected) < 4 * np.sqrt(variance), (flips, expected)


def test_seniors_not_advised_complete_the_fafsa_at_the_baseline_rate(seed):
    _, without = _june_seniors(seed)[0]
    rate = ScenarioConfig().programmes.college_advising.fafsa_rate
    unadvised = without["senior"] & ~without["advised"]
    completed = without["fafsa"][unadvised]
    assert completed.size > 150
    assert abs(completed.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / completed.size)
    assert not without["fafsa"][~without["senior"]].any()
