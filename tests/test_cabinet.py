"""The children's cabinet as a lever (MODEL_SPEC 3.7): elections that may lose the champion and the funding that
survives them, coordination that raises take-up and referral completion, authority that keeps it, staff cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simcity_kids as sk
from simcity_kids.programmes.base import APPLIED
from simcity_kids.scenario import ScenarioConfig

ELECTION_YEAR = 4  # the first election, in September of school year 4 (the default interval)
JUNE = 9  # steps from September to the end of May: the next step is June, when summer places are allocated


def _config(summer: float = 0.6, **cabinet) -> ScenarioConfig:
    overrides = {"programmes.summer.coverage": summer, **{f"cabinet.{k}": v for k, v in cabinet.items()}}
    return ScenarioConfig().with_overrides(overrides)


def _run(config: ScenarioConfig, seed: int, years: int = ELECTION_YEAR + 2) -> sk.CityModel:
    return sk.CityModel(config, seed=seed, years=years).run()


def _yearly(model: sk.CityModel, metric: str, group: str = "all") -> pd.Series:
    """One value per year of ``metric`` for ``group`` (the whole city, or a programme's row)."""
    frame = model.outcomes.table()
    rows = frame[(frame.metric == metric) & (frame.group == group) & (frame.grade == "all")]
    assert len(rows) == model.years, (metric, group)
    return rows.set_index("year").value


def _june(config: ScenarioConfig, seed: int, year: int = 0) -> sk.CityModel:
    """The model just after June of ``year``, when summer places were allocated."""
    model = sk.CityModel(config, seed=seed, years=year + 1)
    for _ in range(12 * year + JUNE + 1):
        model.step()
    return model


def _applicants(model: sk.CityModel) -> np.ndarray:
    """Who applied for summer places this school year."""
    return (model.children.reach_summer & APPLIED) > 0


def test_a_lost_champion_cuts_funding_from_the_election_year_and_not_before(seed):
    kept, lost = (_run(_config(champion_loss_probability=p), seed) for p in (0.0, 1.0))
    assert list(_yearly(kept, "champion_in_office", "cabinet")) == [1.0] * 6
    assert list(_yearly(lost, "champion_in_office", "cabinet")) == [1.0] * 4 + [0.0] * 2
    tables = [m.outcomes.table().astype({"group_kind": str, "group": str, "metric": str}) for m in (kept, lost)]
    before = [t[t.year < ELECTION_YEAR].reset_index(drop=True) for t in tables]
    pd.testing.assert_frame_equal(*before)  # every outcome alike until the election
    for metric, group in (("cost_usd", "summer"), ("summer_enrolled", "all"), ("cost_usd", "total")):
        with_champion, without = _yearly(kept, metric, group), _yearly(lost, metric, group)
        assert (without.loc[ELECTION_YEAR:] < 0.5 * with_champion.loc[ELECTION_YEAR:]).all(), (metric, group)
    # nothing braided or institutionalized: no city-funded slot is left, only the providers' own
    assert (_yearly(lost, "cost_usd", "summer").loc[ELECTION_YEAR:] == 0).all()


@pytest.mark.parametrize(("braided", "institutionalized"), [(0.0, 0.0), (0.25, 0.4), (1.0, 0.0), (0.0, 1.0)])
def test_braided_and_institutionalized_funding_survive_the_loss(braided, institutionalized, seed):
    """After the loss, the city buys braided + (1 - braided) x institutionalized of what it bought before."""
    levers = {"braided_share": braided, "institutionalized_share": institutionalized}
    kept = _run(_config(champion_loss_probability=0.0, **levers), seed, years=ELECTION_YEAR + 1)
    lost = _run(_config(champion_loss_probability=1.0, **levers), seed, years=ELECTION_YEAR + 1)
    factor = braided + (1 - braided) * institutionalized
    assert lost.cabinet.funding_factor == pytest.approx(factor) and kept.cabinet.funding_factor == 1.0
    assert list(_yearly(lost, "funding_factor", "cabinet")) == pytest.approx([1.0] * ELECTION_YEAR + [factor])
    full, cut = (_yearly(m, "cost_usd", "summer")[ELECTION_YEAR] for m in (kept, lost))
    slot = kept.config.programmes.summer.cost_per_slot_usd * kept.child_weight
    assert full > 100 * slot  # many funded slots: the shares are measured on more than rounding
    assert abs(cut - factor * full) <= slot  # one slot of rounding


def test_a_lost_champion_cuts_a_budget_capped_programme_too(seed):
    levers = {"institutionalized_share": 0.5}
    capped = {"programmes.summer.budget_usd": 300_000.0}  # far fewer slots than coverage 0.6 wants
    kept, lost = (_run(_config(champion_loss_probability=p, **levers).with_overrides(capped), seed,
                       years=ELECTION_YEAR + 1) for p in (0.0, 1.0))
    full, cut = (_yearly(m, "cost_usd", "summer")[ELECTION_YEAR] for m in (kept, lost))
    assert cut == pytest.approx(0.5 * full, rel=0.01)


def test_coordination_raises_take_up_and_referral_completion(seed):
    coordination, gain = 0.8, ScenarioConfig().cabinet.takeup_gain_at_full_coordination
    without, with_cabinet = (_applicants(_june(_config(1.0, coordination=c), seed)) for c in (0.0, coordination))
    assert not (without & ~with_cabinet).any()  # the same draws against a higher chance: more apply, none fewer
    assert without.sum() > 500
    assert with_cabinet.sum() / without.sum() == pytest.approx(1 + gain * coordination, abs=0.08)

    completion = {}
    for c in (0.0, 1.0):
        model = sk.CityModel(_config(coordination=c), seed=seed, years=1)
        model.step()
        everyone = np.arange(len(model.children))
        done = model.referrals.refer(model, "summer", everyone, source="test")
        completion[c] = done
        assert done.size / everyone.size == pytest.approx(model.cabinet.referral_completion(), abs=0.03)
        assert model.children.referred_summer[done].all()
    assert set(completion[0.0]) <= set(completion[1.0])
    params = ScenarioConfig().cabinet
    expected = params.referral_completion + params.referral_completion_gain_at_full_coordination
    assert completion[1.0].size / completion[0.0].size == pytest.approx(expected / params.referral_completion,
                                                                        abs=0.08)


@pytest.mark.parametrize("authority", [0.0, 0.5, 1.0])
def test_authority_keeps_coordination_without_a_champion(authority, seed):
    """Coordination after the loss is coordination x authority; with full authority take-up is as if the champion
    had stayed, with none it is as without a cabinet."""
    coordination, year = 0.8, ELECTION_YEAR
    model = _june(_config(1.0, coordination=coordination, authority=authority, champion_loss_probability=1.0),
                  seed, year)
    assert not model.cabinet.has_champion
    assert model.cabinet.coordination == pytest.approx(coordination * authority)
    if authority == 1.0:
        kept = _config(1.0, coordination=coordination, champion_loss_probability=0.0)
        np.testing.assert_array_equal(_applicants(model), _applicants(_june(kept, seed, year)))
    elif authority == 0.0:
        np.testing.assert_array_equal(_applicants(model), _applicants(_june(_config(1.0), seed, year)))


def test_the_staff_cost_is_booked_only_while_there_is_coordination(seed):
    staff = ScenarioConfig().cabinet.staff_cost_usd
    for coordination, authority, expected in ((0.0, 0.5, [0.0] * 5), (0.5, 0.5, [staff] * 5),
                                              (0.5, 0.0, [staff] * 4 + [0.0])):
        model = _run(_config(0.0, coordination=coordination, authority=authority, champion_loss_probability=1.0),
                     seed, years=ELECTION_YEAR + 1)
        assert list(_yearly(model, "cost_usd", "cabinet")) == expected, (coordination, authority)
        assert list(_yearly(model, "cost_usd", "total")) == expected


@pytest.mark.parametrize("summer", [0.0, 0.6])
def test_without_coordination_the_cabinet_changes_nothing(summer, seed):
    """Coordination 0 (the default): the other levers of the cabinet leave every outcome as it was (the funding
    shares act only after a loss, which this run does not have)."""
    levers = {"authority": 1.0, "staff_cost_usd": 5e6, "braided_share": 0.5, "institutionalized_share": 0.5,
              "takeup_gain_at_full_coordination": 2.0, "referral_completion_gain_at_full_coordination": 1.0,
              "champion_loss_probability": 0.0}
    plain = _run(_config(summer, champion_loss_probability=0.0), seed, years=ELECTION_YEAR + 1)
    with_levers = _run(_config(summer, **levers), seed, years=ELECTION_YEAR + 1)
    pd.testing.assert_frame_equal(plain.outcomes.table(), with_levers.outcomes.table())
    for name in ("reading", "math", "enrolled_summer", "attendance"):
        np.testing.assert_array_equal(getattr(plain.children, name), getattr(with_levers.children, name))
