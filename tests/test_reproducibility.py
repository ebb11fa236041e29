"""Same config and seed give the same numbers; another seed gives other numbers; draws are common."""

from __future__ import annotations

import pandas as pd

import simcity_kids as sk


def test_same_seed_identical_outcomes():
    first = sk.run("universal_summer", years=3, seed=7)
    second = sk.run("universal_summer", years=3, seed=7)
    pd.testing.assert_frame_equal(first.outcomes, second.outcomes)
    pd.testing.assert_frame_equal(first.trace, second.trace)


def test_other_seed_different_outcomes():
    first = sk.run("baseline", years=2, seed=1)
    second = sk.run("baseline", years=2, seed=2)
    assert not first.outcomes.value.equals(second.outcomes.value)


def test_switching_a_programme_on_leaves_unrelated_draws_alone():
    """Common random numbers: needs and attendance do not depend on the summer programme's draws."""
    base = sk.run("baseline", years=2, seed=3)
    summer = sk.run("universal_summer", years=2, seed=3)

    def unrelated(result: sk.RunResult) -> pd.DataFrame:
        frame = result.outcomes
        rows = frame[frame.metric.astype(str).str.startswith(("unmet_", "chronic_absence", "entry_"))]
        return rows.reset_index(drop=True)

    pd.testing.assert_frame_equal(unrelated(base), unrelated(summer))
    assert not base.outcomes.value.equals(summer.outcomes.value)


def _outcomes(seed: int) -> pd.DataFrame:
    return sk.run("universal_summer", years=2, seed=seed).outcomes


def test_same_numbers_in_other_processes():
    """Nothing depends on the process: runs on a pool of workers equal runs in this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        remote = list(pool.map(_outcomes, [4, 5]))
    for seed, frame in zip([4, 5], remote):
        pd.testing.assert_frame_equal(frame, _outcomes(seed))
