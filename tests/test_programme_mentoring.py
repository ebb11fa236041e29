"""Community mobilization (mentoring): the campaign adds matches, and matched youth gain social-emotional skill,
attendance and a little reading; matches close early at the sourced rate."""

from __future__ import annotations

import numpy as np

import simcity_kids as sk
from simcity_kids.scenario import ScenarioConfig

CAMPAIGN = {"coverage": 0.12, "phase_in_years": 1}
JUNE_OF_YEAR_1 = 22  # steps from September of year 0 to the end of June of year 1


def _config(**levers) -> ScenarioConfig:
    return ScenarioConfig().with_overrides({f"programmes.mentoring.{k}": v for k, v in levers.items()})


def test_the_campaign_adds_matches_that_raise_skill_attendance_and_reading(seed):
    """Same seed with and without the campaign: the youth it matches (and the baseline's providers did not) gain
    the full social-emotional effect after a year, and attend and read a little more, and nobody loses."""
    campaign, baseline = sk.CityModel(_config(**CAMPAIGN), seed=seed, years=2), sk.CityModel(seed=seed, years=2)
    ever = np.zeros((2, 2 * len(campaign.children)), dtype=bool)  # by id: ever matched, or a gain since August
    for month in range(JUNE_OF_YEAR_1):
        campaign.step()
        baseline.step()
        np.testing.assert_array_equal(campaign.children.id, baseline.children.id)
        if month == 11:
            programme = campaign.programme("mentoring")
            assert programme.mentors > 0.8 * programme.target_mentors > 0  # recruits arrived within a year
        ids = campaign.children.id
        for run, model in enumerate((campaign, baseline)):
            ever[run, ids] |= model.children.enrolled_mentoring | (model.children.mentoring_gain != 0) * (month >= 11)
    ever = ever[:, campaign.children.id]
    config = campaign.config.programmes.mentoring
    matches = campaign.children.enrolled_mentoring.sum(), baseline.children.enrolled_mentoring.sum()
    assert matches[0] > 3 * matches[1] > 0

    only_campaign = ever[0] & ~ever[1]
    assert only_campaign.sum() > 150
    skill = campaign.children.social_emotional - baseline.children.social_emotional
    assert (skill[only_campaign] >= 0).all() and skill[only_campaign].mean() > 0.05
    a_year = only_campaign & campaign.children.enrolled_mentoring & (
        campaign.children.mentoring_months >= config.full_effect_months)
    assert a_year.sum() > 50
    np.testing.assert_allclose(skill[a_year], config.social_emotional_sd, atol=1e-6)

    attendance = campaign.needs.yearly_attendance(campaign) - baseline.needs.yearly_attendance(baseline)
    per_sd = campaign.config.needs.attendance_per_social_emotional_sd
    assert (attendance[only_campaign] >= -1e-6).all()
    assert attendance[only_campaign].mean() > 0.2 * per_sd * config.social_emotional_sd
    assert attendance[only_campaign].max() <= per_sd * config.social_emotional_sd + 1e-6
    untouched = ~ever.any(axis=0)
    np.testing.assert_array_equal(attendance[untouched], 0.0)

    reading = campaign.learning.observed(campaign)[0] - baseline.learning.observed(baseline)[0]
    assert 0 < reading[only_campaign].mean() < config.learning_sd * 2


def test_matches_close_within_their_first_year_at_the_sourced_rate(seed):
    """Matches started in year 0 by youth who stay in the age band for two years: the share that closes within
    the 12-month commitment is Kupersmidt et al.'s 38%, within sampling error."""
    config = _config(coverage=0.5, phase_in_years=1, max_mentors_per_1000_adults=60.0, recruitment_rate=1.0
                     ).with_overrides({"access.initial_awareness": 1.0, "access.max_takeup": 1.0})
    model = sk.CityModel(config, seed=seed, years=2)
    commitment = model.config.programmes.mentoring.commitment_months
    ids = model.children.id
    start = np.full(ids.max() + 1, -1)  # month each child's first match began (year 0 only)
    last_months = np.zeros(ids.max() + 1, dtype=np.int64)  # months matched when last seen matched
    ended = np.zeros(ids.max() + 1, dtype=bool)
    young = np.zeros(ids.max() + 1, dtype=bool)
    for month in range(24):
        model.step()
        children = model.children
        row_ids = children.id[children.id <= ids.max()]
        rows = np.flatnonzero(children.id <= ids.max())
        matched, months = children.enrolled_mentoring[rows], children.mentoring_months[rows].astype(np.int64)
        new = matched & (start[row_ids] < 0) & (months == 1) & (month < 12)
        start[row_ids[new]] = month
        young[row_ids[new]] = children.age[rows[new]] <= 15
        open_ = (start[row_ids] >= 0) & ~ended[row_ids]
        over = open_ & (~matched | (months < last_months[row_ids]))  # ended (a new match would restart at 1)
        ended[row_ids[over]] = True
        going = open_ & ~over
        last_months[row_ids[going]] = months[going]
    followed = (start >= 0) & young
    assert followed.sum() > 800
    early = ended[followed] & (last_months[followed] <= commitment)
    share = early.mean()
    source = model.config.programmes.mentoring.premature_closure_share
    assert abs(share - source) < 4 * np.sqrt(source * (1 - source) / followed.sum()), share


def test_match_lengths_follow_the_sourced_closure_share_and_mean(seed):
    model = sk.CityModel(seed=seed, years=1)
    programme, config = model.programme("mentoring"), model.config.programmes.mentoring
    lengths = programme.match_length(np.random.default_rng(seed).random(400_000).astype(np.float32))
    assert lengths.min() >= 1
    assert abs((lengths <= config.commitment_months).mean() - config.premature_closure_share) < 0.005
    assert abs(lengths.mean() - config.mean_match_months) < 0.3


def test_a_referral_during_the_year_goes_to_the_head_of_the_waitlist(seed):
    """The city's own matches only (full all year): children referred in October are matched, as slots free up,
    before anyone who applied in September and was not referred."""
    model = sk.CityModel(seed=seed, years=1)
    model.step()  # September: the year's applications
    programme, children = model.programme("mentoring"), model.children
    waiting_before = programme.waiting()
    assert waiting_before.size > 100
    candidates = np.flatnonzero(programme.eligible(model) & ~children.enrolled_mentoring)
    referred = model.referrals.refer(model, "mentoring", candidates[::400], source="test", follow_up=1.0)
    assert referred.size >= 5
    matched_in_order = []
    for _ in range(10):
        before = children.enrolled_mentoring.copy()
        model.step()
        matched_in_order.append(np.flatnonzero(children.enrolled_mentoring & ~before))
    new = np.concatenate(matched_in_order)
    assert new.size > referred.size  # slots freed up for more than the referred children
    assert set(referred) <= set(new)
    matched_so_far: set[int] = set()
    for month in matched_in_order:
        others = set(month) - set(referred)
        matched_so_far |= set(month)
        assert not others or set(referred) <= matched_so_far  # nobody else before every referred child
        assert others <= set(waiting_before)


def test_when_the_champion_is_lost_recruits_leave_but_no_running_match_is_broken_off(seed):
    """The election of year 4 cuts the campaign's funding: the target falls to none and recruits drift away, but
    each running match ends only when its length is reached; providers never hold more matches than slots."""
    overrides = {"cabinet.champion_loss_probability": 1.0, "cabinet.champion_regain_probability": 0.0}
    model = sk.CityModel(_config(**CAMPAIGN).with_overrides(overrides), seed=seed, years=5)
    programme, children = model.programme("mentoring"), model.children
    for _ in range(48):  # to the end of August of year 3
        model.step()
        assert all(p.enrolled <= p.capacity for p in programme.providers)
    before = {name: getattr(children, name).copy() for name in ("id", "enrolled_mentoring", "mentoring_months",
                                                                  "mentoring_length")}
    mentors = programme.mentors
    model.step()  # September of year 4: the election
    assert not model.cabinet.has_champion and programme.target_mentors == 0
    assert programme.mentors < 0.9 * mentors
    assert all(p.enrolled <= p.capacity for p in programme.providers)
    running = before["enrolled_mentoring"] & np.isin(before["id"], children.id)  # matched youth still in the city
    rows = np.searchsorted(children.id, before["id"][running])  # ids stay in ascending row order
    np.testing.assert_array_equal(children.id[rows], before["id"][running])
    ended = ~children.enrolled_mentoring[rows]
    assert ended.sum() < running.sum() / 5
    np.testing.assert_array_less(before["mentoring_length"][running][ended] - 1,
                                 before["mentoring_months"][running][ended])  # each had reached its length
