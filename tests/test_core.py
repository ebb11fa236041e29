"""The ground floor's tools that the rules and programmes rely on for speed: counter-based draws for chosen rows,
the radix order of priorities, and the one-copy turnover of state arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simcity_kids.core.allocation import allocate, priority_order
from simcity_kids.core.rng import Streams
from simcity_kids.core.state import StateArrays


def test_a_rows_draw_depends_only_on_the_stream_and_the_row(seed):
    streams = Streams(seed)
    everyone = streams.uniform("decision", 5, np.arange(200_000))
    some = np.array([3, 77, 150_000, 12])
    np.testing.assert_array_equal(streams.uniform("decision", 5, some), everyone[some])  # whoever else is drawn
    assert not np.isin(streams.uniform("decision", 6, some), everyone).any()  # another month: other numbers
    assert not np.isin(streams.uniform("other", 5, some), everyone).any()  # another decision: other numbers
    assert not np.isin(Streams(seed + 1).uniform("decision", 5, some), everyone).any()  # another run's seed
    # Uniform on [0, 1): mean, variance, deciles and neighbouring rows uncorrelated, within sampling error.
    n = everyone.size
    assert 0 <= everyone.min() and everyone.max() < 1
    assert abs(everyone.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
    assert abs(everyone.var() - 1 / 12) < 0.002
    deciles = np.bincount((everyone * 10).astype(int), minlength=10) / n
    assert np.abs(deciles - 0.1).max() < 4 * np.sqrt(0.09 / n)
    assert abs(np.corrcoef(everyone[:-1], everyone[1:])[0, 1]) < 4 / np.sqrt(n)


@pytest.mark.parametrize("case", ["random", "ties", "tiers", "negative", "constant"])
def test_priority_order_sorts_like_a_stable_argsort(case, seed):
    rng = np.random.default_rng(seed)
    priority = {"random": rng.random(50_000), "ties": rng.integers(0, 30, 50_000).astype(float),
                "tiers": 4.0 * rng.integers(-5, 3, 50_000) + rng.random(50_000),
                "negative": -rng.exponential(size=50_000), "constant": np.full(50_000, 0.25)}[case]
    order = priority_order(priority)
    assert sorted(order) == list(range(priority.size))
    if case in ("ties", "constant"):  # equal priorities keep their row order, as a stable sort would
        np.testing.assert_array_equal(order, np.argsort(priority, kind="stable"))
    else:  # in order, up to the key's resolution of 1/2**32 of the range
        assert (np.diff(priority[order]) >= -np.ptp(priority) * 2.0**-32).all()
        assert (np.diff(priority[order]) < 0).mean() < 1e-3
    assert priority_order(np.empty(0)).size == 0


def test_turn_over_drops_leavers_and_adds_births_in_one_copy():
    people = StateArrays(5)
    people.define("age", np.int8, values=np.array([1, 17, 3, 17, 9]))
    people.define("score", np.float32, fill=-1.0, values=np.arange(5, dtype=np.float32))
    people.turn_over(people.age < 17, 2, age=np.zeros(2, np.int8))
    np.testing.assert_array_equal(people.age, [1, 3, 9, 0, 0])
    np.testing.assert_array_equal(people.score, [0, 2, 4, -1, -1])  # births get the fill value
    assert len(people) == 5
    with pytest.raises(AttributeError, match="no state arrays"):
        people.turn_over(np.ones(5, bool), 1, height=np.zeros(1))


def _allocate_one_by_one(choices: np.ndarray, priority: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """The rule in plain Python: round by round, waiting applicants in priority order take their round's
    provider if it has room."""
    placed, free = np.full(len(choices), -1), capacity.copy()
    for round_ in range(choices.shape[1]):
        for applicant in np.argsort(priority, kind="stable"):
            provider = choices[applicant, round_]
            if placed[applicant] < 0 and free[provider] > 0:
                placed[applicant], free[provider] = provider, free[provider] - 1
    return placed


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_allocation_places_exactly_as_the_rule_says(data):
    """Any applicants, choices, priorities (ties too) and capacities, demand just below, at or above capacity."""
    providers = data.draw(st.integers(1, 6))
    applicants = data.draw(st.integers(0, 60))
    rounds = data.draw(st.integers(1, 3))
    choices = np.array(data.draw(st.lists(st.lists(st.integers(0, providers - 1), min_size=rounds, max_size=rounds),
                                          min_size=applicants, max_size=applicants)), dtype=np.int64)
    choices = choices.reshape(applicants, rounds)
    # Few distinct priorities: ties (kept in row order, as the reference's stable sort keeps them) fill buckets.
    priority = np.array(data.draw(st.lists(st.integers(0, 4), min_size=applicants, max_size=applicants)), float)
    capacity = np.array(data.draw(st.lists(st.integers(0, 12), min_size=providers, max_size=providers)))
    np.testing.assert_array_equal(allocate(choices, priority, capacity), _allocate_one_by_one(choices, priority,
                                                                                             capacity))
