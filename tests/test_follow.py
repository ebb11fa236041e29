"""Following one child (``simcity_kids/follow.py``): the record is the model's own arrays, the filters pick the
children they name, a success plan review shows up as a coordinator would see it, and following changes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simcity_kids.city.profile import RACES
from simcity_kids.core.validation import ConfigError
from simcity_kids.follow import COLUMNS, candidates, follow_child, follow_in, groups, timeline_figure
from simcity_kids.model import CityModel
from simcity_kids.programmes.success_plans import BIT, FINDINGS
from simcity_kids.rules.needs import NEEDS
from conftest import generated

YEARS = 2
MONTHS = 12 * YEARS


def names(flags: dict[str, bool]) -> str:
    return ", ".join(name for name, flag in flags.items() if flag)


def test_the_record_is_the_models_own_arrays_month_by_month(seed):
    model, twin = (CityModel("by_all_means", seed=seed, years=YEARS) for _ in range(2))
    child = int(candidates(model, group="disadvantaged")[0])
    history = follow_in(model, child, MONTHS)
    frame = history.months
    assert list(frame.columns) == list(COLUMNS) and len(frame) == MONTHS
    for record in frame.itertuples():
        when = (twin.month, twin.school_year, twin.calendar_month, twin.is_school_month)
        twin.step()
        [row] = np.flatnonzero(twin.children.id == child)
        children, rows = twin.children, np.array([row])
        reading, math = twin.learning.observed(twin, rows)
        assert (record.run_month, record.year, record.month) == when[:3]
        assert (record.reading, record.math) == (reading[0], math[0])
        if when[3]:
            assert record.attendance == children.attendance[row]
        else:
            assert np.isnan(record.attendance)
        assert record.attendance_year == twin.needs.yearly_attendance(twin)[row]
        assert record.age == children.age[row]
        assert record.school == twin.schools[children.school[row]].name
        assert record.needs == names({n: twin.needs.unmet(twin, n, rows)[0] for n in NEEDS})
        assert record.needs_found == names({f: children.success_plan_found[row] & BIT[f] for f in FINDINGS})
        assert record.referrals == names({p.name: getattr(children, p.referred)[row] for p in twin.programmes})
        assert record.services == names({p.name: getattr(children, p.enrolled)[row] for p in twin.programmes})
    assert frame.label.iloc[0] == "Sep Y0" and frame.label.iloc[-1] == f"Aug Y{YEARS - 1}"
    assert frame.services.str.len().gt(0).any()  # the child was served: the services compared were not all empty


def test_candidates_are_the_children_of_the_neighborhood_and_group(seed):
    model = CityModel("baseline", seed=seed, years=YEARS)
    children = model.children
    k8 = (children.age >= 5) & (children.age <= 13)
    assert np.array_equal(candidates(model), children.id[k8])
    by_group = {"all": np.ones(len(children), dtype=bool), "Q1": children.income_quintile == 0,
                "Q5": children.income_quintile == 4, "disadvantaged": children.disadvantaged,
                "not_disadvantaged": ~children.disadvantaged, "english_learner": children.english_learner,
                "black": children.race == RACES.index("black"), "latino": children.race == RACES.index("latino")}
    assert set(by_group) <= set(groups(model))
    found = 0
    for hood, neighborhood in enumerate(model.city.neighborhoods):
        for group, mask in by_group.items():
            ids = candidates(model, neighborhood.name, group)
            assert np.array_equal(ids, children.id[k8 & mask & (children.neighborhood == hood)]), (neighborhood, group)
            found += ids.size
    assert found > 0
    income = children.income_z  # Q1 is the poorest fifth: income_quintile counts from 0
    assert income[children.income_quintile == 0].max() < income[children.income_quintile == 4].min()
    teens = candidates(model, ages=(14, 17))
    assert teens.size and np.array_equal(teens, children.id[(children.age >= 14) & (children.age <= 17)])


@pytest.mark.parametrize("arguments, key, allowed", [
    ({"neighborhood": "Atlantis"}, "neighborhood", ["allowed: None (any) or The Point", "Salem Neck"]),
    ({"group": "Q6"}, "group", ["allowed: all, Q1", "Q5", "disadvantaged", "english_learner", *RACES]),
    ({"ages": (13, 5)}, "ages", ["youngest <= oldest <= 17"]),
])
def test_bad_filters_name_the_key_and_what_is_allowed(seed, arguments, key, allowed):
    model = CityModel("baseline", seed=seed, years=1)
    with pytest.raises(ConfigError) as raised:
        candidates(model, **arguments)
    assert raised.value.source == key and str(raised.value).startswith(f"{key}: ")
    assert all(word in str(raised.value) for word in allowed), str(raised.value)


def test_a_pick_out_of_range_or_an_unknown_child_says_what_is_allowed(seed):
    matching = candidates(CityModel("baseline", seed=seed, years=1), "The Point", "Q1").size
    with pytest.raises(ConfigError, match=rf"^pick: .*{matching} children .*allowed: 0 to {matching - 1}$") as raised:
        follow_child("baseline", seed=seed, years=1, neighborhood="The Point", group="Q1", pick=matching)
    assert raised.value.source == "pick"
    with pytest.raises(ConfigError, match=r"^child_id: no child with id -1"):
        follow_in(CityModel("baseline", seed=seed, years=1), -1, 1)


def test_a_september_review_shows_the_needs_found_and_the_referrals(seed):
    model, twin = (CityModel("by_all_means", seed=seed, years=YEARS) for _ in range(2))
    twin.step()  # September of year 0: the success plans' review
    children = twin.children
    need_bits = np.uint8(sum(BIT[n] for n in NEEDS))
    referred = np.column_stack([getattr(children, p.referred) for p in twin.programmes])
    reviewed = np.flatnonzero(((children.success_plan_found & need_bits) > 0) & referred.any(axis=1))
    row = reviewed[0]
    child = int(children.id[row])
    assert child in candidates(model)  # a K-8 child
    history = follow_in(model, child, 1)
    found = [f for f in FINDINGS if children.success_plan_found[row] & BIT[f]]
    referrals = [p.name for p, flag in zip(twin.programmes, referred[row]) if flag]
    first = history.months.iloc[0]
    assert first.needs_found == ", ".join(found) and set(found) & set(NEEDS)
    assert first.referrals == ", ".join(referrals) and referrals
    assert "success_plans" in first.services.split(", ")
    assert history.events[0].startswith(f"Sep, year 0: success plan review found {', '.join(found)};")
    assert f"referred to {', '.join(referrals)}" in history.events[0]


def test_following_a_child_does_not_change_the_run(seed):
    followed, plain = (CityModel("by_all_means", seed=seed, years=YEARS) for _ in range(2))
    follow_in(followed, int(candidates(followed, group="Q1")[0]), MONTHS)
    for _ in range(MONTHS):
        plain.step()
    table = followed.outcomes.table()
    assert not table.empty
    pd.testing.assert_frame_equal(table, plain.outcomes.table())
    pd.testing.assert_frame_equal(followed.outcomes.trace(), plain.outcomes.trace())


def test_the_record_ends_when_the_child_leaves(seed):
    model = CityModel(generated(), seed=seed, years=YEARS)  # a 17-year-old at the start stays for year 0
    child = int(candidates(model, ages=(17, 17))[0])
    history = follow_in(model, child, 14)
    assert model.month == 14  # the model went on
    assert len(history.months) == 12 and history.months.age.eq(17).all()
    assert history.events[-1].startswith("Sep, year 1: left")


def test_the_timeline_draws_the_records_values(seed):
    history = follow_child("by_all_means", seed=seed, years=YEARS, group="Q1")
    figure = timeline_figure(history)
    traces = {trace.name: trace for trace in figure.data}
    frame = history.months
    for column in ("reading", "math", "attendance"):
        assert np.array_equal(traces[column].y, frame[column].to_numpy(), equal_nan=True), column
        assert np.array_equal(traces[column].x, frame.run_month.to_numpy())
    services = {s for listed in frame.services for s in listed.split(", ") if s}
    assert services and services == set(traces) - {"reading", "math", "attendance"}
    for service in services:
        assert list(traces[service].x) == [r.run_month for r in frame.itertuples() if service in r.services.split(", ")]
    titles = " ".join(annotation.text for annotation in figure.layout.annotations)
    assert "SD" in titles and "share of school days" in titles
    assert figure.layout.template.layout.plot_bgcolor == "white"  # plotly_white, not the default
