"""English-language acquisition (rules/english.py): learners are reclassified at the sourced rates
(EVIDENCE_PROGRAMMES.md section 11), English-language tests understate them only while they are learners, and
schools and programmes can speed them up."""

from __future__ import annotations

import numpy as np
import pytest

import simcity_kids as sk
from conftest import TEST_SEED
from simcity_kids.city.profile import load_city
from simcity_kids.core.calendar import SCHOOL_AGES
from simcity_kids.model import CityModel
from simcity_kids.rules.english import EnglishParams, entry_share, steady_share, still_learning

OCTOBER, JULY = 10, 7  # the calendar month after September and after June are simulated


def follow_learners(model: CityModel) -> dict[str, list[float]]:
    """Run ``model`` to its end, recording after each later September is simulated: the share of year 0's
    kindergarten learners still learning (index k: after k school years), and the share of last June's learners
    reclassified (California's annual reclassification rate)."""
    children = model.children
    model.step()  # September of year 0: this school year's kindergartners are classified
    cohort = children.id[children.english_learner & (children.age == SCHOOL_AGES[0])]
    still, annual = [1.0], []
    learners_in_june = None
    while model.running:
        model.step()
        if model.calendar_month == JULY:
            learners_in_june = children.id[children.english_learner & (children.age < SCHOOL_AGES[1])]
        if model.calendar_month == OCTOBER and model.month > 12:
            learning = children.id[children.english_learner]
            still.append(float(np.isin(cohort, learning).mean()))
            annual.append(float(1 - np.isin(learners_in_june, learning).mean()))
    return {"cohort_still_learning": still, "reclassified_a_year": annual, "cohort": cohort.size}


@pytest.fixture(scope="module")
def providence():
    return follow_learners(CityModel(None, "providence", seed=TEST_SEED, years=10))


def test_the_time_to_reclassification_follows_the_sources(providence):
    """Thompson 2017 (LAUSD): about 1/4 not reclassified after 9 years; Hakuta et al. 2000: academic English in
    4-7 years (half the learners reclassified between 4 and 7 years after entry); LAUSD cohort: 29% not by grade 8."""
    still = np.array(providence["cohort_still_learning"])  # after 0, 1, ... 9 school years
    assert providence["cohort"] > 500
    assert np.all(np.diff(still) <= 0), still.round(3)
    assert 0.18 < still[9] < 0.32, still.round(3)
    assert still[4] > 0.5 > still[7], still.round(3)
    assert still[9] == pytest.approx(0.29, abs=0.08)


def test_the_yearly_reclassification_rate_is_in_californias_range(providence):
    """UCLA CTS: California reclassified 6.9% (2021) to 14.6% (2018) of its learners a year."""
    rates = providence["reclassified_a_year"]
    assert len(rates) == 9 and all(0.069 <= rate <= 0.146 for rate in rates), np.round(rates, 3)


def test_the_sourced_curve_and_the_steady_share():
    params = EnglishParams()
    assert still_learning(params, np.array([9.0]))[0] == pytest.approx(0.25, abs=0.01)
    assert still_learning(params, np.array([params.years_to_proficiency_median]))[0] == pytest.approx(0.5)
    somerville, salem = load_city("somerville"), load_city("salem")
    assert entry_share(params, somerville) < 1 and steady_share(params, somerville) == somerville.english_learners
    assert entry_share(params, salem) == 1 and steady_share(params, salem) < salem.english_learners  # no newcomers


def test_a_learner_gains_their_speed_times_their_schools_support_each_school_month(seed):
    model = CityModel(None, "providence", seed=seed, years=1)
    model.step()  # September
    children = model.children
    before, learners = children.english_proficiency.copy(), children.english_learner.copy()
    model.step()  # October
    expected = np.minimum(before + children.english_speed * model.english.school_support[children.school] / 10, 1)
    np.testing.assert_allclose(children.english_proficiency[learners], expected[learners], rtol=1e-6)
    np.testing.assert_array_equal(children.english_proficiency[~learners], 1.0)


def test_the_city_keeps_its_steady_share_of_learners(seed):
    """Newton's kindergartners from non-English homes are classified with an entry share below 1 (0.65)."""
    model = CityModel(None, "newton", seed=seed, years=6)
    assert 0.5 < model.english.entry_share < 0.8
    shares = []
    while model.running:
        model.step()
        if model.calendar_month == OCTOBER:
            pupils = model.children.age >= SCHOOL_AGES[0]
            shares.append(model.children.english_learner[pupils].mean())
    assert np.allclose(shares, steady_share(model.config.english, model.city), atol=0.015), np.round(shares, 3)


def test_tests_understate_learners_only_until_they_are_reclassified(seed):
    model = CityModel(None, "salem", seed=seed, years=3)
    first_learners = model.children.id[model.children.english_learner]
    model.run()
    children = model.children
    reading, math = model.learning.observed(model)
    true_reading, true_math = children.reading + children.boost_reading, children.math + children.boost_math
    learners = children.english_learner
    params = model.config.english
    missing = 1 - children.english_proficiency
    assert missing[learners].max() > 0.5  # (learners at full proficiency are reclassified in September)
    for observed, true, understated in ((reading, true_reading, params.understated_reading),
                                        (math, true_math, params.understated_math)):
        np.testing.assert_allclose(true[learners] - observed[learners], understated * missing[learners], atol=1e-5)
    reclassified = np.isin(children.id, first_learners) & ~learners
    assert reclassified.sum() > 100
    np.testing.assert_array_equal(reading[reclassified], true_reading[reclassified])
    np.testing.assert_array_equal(math[reclassified], true_math[reclassified])


def test_programmes_and_schools_change_the_speed(seed):
    """A programme with English support reclassifies its learners sooner; schools differ in their support."""
    after_school, _ = sk.load_scenario("after_school")
    supported = after_school.with_overrides({"programmes.after_school.english_support": 1.0})
    runs = {name: CityModel(config, "providence", seed=seed, years=3).run() for name, config in
            (("plain", after_school), ("supported", supported))}
    shares = {name: model.children.english_learner[model.children.age >= SCHOOL_AGES[0]].mean()
              for name, model in runs.items()}
    assert shares["supported"] < shares["plain"] - 0.005, shares
    support = runs["plain"].english.school_support[:-1]
    assert support.std() > 0.05 and abs(np.log(support).mean()) < 0.1
