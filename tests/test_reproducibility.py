"""Same config and seed give the same numbers; another seed gives other numbers; draws are common."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

import numpy as np
import pandas as pd

import simcity_kids as sk
import simcity_kids.model as model_module
from simcity_kids.core.rng import Streams
from conftest import generated


def test_same_seed_identical_outcomes(seed):
    first = sk.run("universal_summer", years=3, seed=seed)
    second = sk.run("universal_summer", years=3, seed=seed)
    pd.testing.assert_frame_equal(first.outcomes, second.outcomes)
    pd.testing.assert_frame_equal(first.trace, second.trace)


def test_other_seed_different_outcomes(seed):
    first = sk.run("baseline", years=2, seed=seed)
    second = sk.run("baseline", years=2, seed=seed + 1)
    assert not first.outcomes.value.equals(second.outcomes.value)


class RecordingStreams(Streams):
    """The model's streams, remembering every call made on every generator they hand out."""

    created: list[RecordingStreams] = []

    def __init__(self, seed):
        super().__init__(seed)
        self.requests: Counter[tuple[str, int]] = Counter()
        self.calls: dict[tuple[str, int], list[tuple[str, tuple, dict, str]]] = defaultdict(list)
        RecordingStreams.created.append(self)

    def __call__(self, name: str, month: int = 0):
        self.requests[(name, month)] += 1
        return _Recorder(super().__call__(name, month), self.calls[(name, month)])

    def uniform(self, name: str, month: int, rows: np.ndarray) -> np.ndarray:
        self.requests[(name, month)] += 1
        result = super().uniform(name, month, rows)
        self.calls[(name, month)].append(("Streams.uniform", (np.array(rows),), {}, _digest(result), result.size))
        return result


def _digest(result) -> str:
    return hashlib.sha256(np.asarray(result).tobytes()).hexdigest()


class _Recorder:
    """A generator that logs (method, args, kwargs, digest of the result, its size) for each draw."""

    def __init__(self, generator: np.random.Generator, log: list):
        self._generator, self._log = generator, log

    def __getattr__(self, method: str):
        function = getattr(self._generator, method)

        def draw(*args, **kwargs):
            result = function(*args, **kwargs)
            self._log.append((method, args, kwargs, _digest(result), np.asarray(result).size))
            return result
        return draw


def _recorded_run(monkeypatch, scenario: str, seed: int, years: int) -> tuple[RecordingStreams, sk.CityModel]:
    monkeypatch.setattr(model_module, "Streams", RecordingStreams)
    RecordingStreams.created.clear()
    model = sk.CityModel(generated(scenario), seed=seed, years=years).run()  # every stream created here
    (streams,) = RecordingStreams.created
    return streams, model


def test_a_streams_draws_depend_on_seed_name_and_month_only(seed):
    def draws(streams: Streams, name: str, month: int) -> np.ndarray:
        return streams(name, month).random(16)

    fresh = draws(Streams(seed), "needs.vision", 5)
    busy = Streams(seed)
    for name in ("learning.noise", "needs.vision", "english.entry"):
        busy(name, 4).random(1000)  # other decisions, and this one in another month, drawn first
    np.testing.assert_array_equal(draws(busy, "needs.vision", 5), fresh)
    np.testing.assert_array_equal(draws(busy, "needs.vision", 5), fresh)  # asked again: the same draws
    for other in (draws(Streams(seed), "needs.behavioral_health", 5), draws(Streams(seed), "needs.vision", 6),
                  draws(Streams(seed + 1), "needs.vision", 5)):
        assert not np.isin(other, fresh).any()


def test_every_decision_draws_from_its_own_stream(monkeypatch, seed):
    """Each (decision, month) is asked for once in a run, and its draws are what a fresh ``Streams`` with the
    run's seed gives for that name and month: no draw depends on what other decisions drew before."""
    streams, _ = _recorded_run(monkeypatch, "universal_summer", seed, years=5)
    assert max(streams.requests.values()) == 1, [key for key, n in streams.requests.items() if n > 1]
    first_draws = {key: calls[0][3] for key, calls in streams.calls.items() if calls[0][4] > 0}
    repeated = Counter(first_draws.values())
    assert [key for key, digest in first_draws.items() if repeated[digest] > 1] == []  # each its own numbers
    for (name, month), calls in streams.calls.items():
        fresh = Streams(seed)  # a new Streams each time: nothing drawn before
        generator = fresh(name, month)
        for method, args, kwargs, digest, _ in calls:
            if method == "Streams.uniform":  # counter-based: the same rows give the same numbers
                assert _digest(fresh.uniform(name, month, *args)) == digest, (name, month, method)
            else:
                assert _digest(getattr(generator, method)(*args, **kwargs)) == digest, (name, month, method)


def test_switching_a_programme_on_leaves_every_other_decisions_draws_alone(monkeypatch, seed):
    """Common random numbers: with summer programming switched on, every decision that is not the
    programme's own (needs, attendance, learning noise, English learners, elections ...) draws bit-identical numbers."""
    years = 5  # an election in year 4
    runs = [_recorded_run(monkeypatch, scenario, seed, years) for scenario in ("baseline", "universal_summer")]
    off, on = ({key: [(method, digest) for method, _, _, digest, _ in calls] for key, calls in streams.calls.items()}
               for streams, _ in runs)
    assert off.keys() == on.keys()
    others = [key for key in off if not key[0].startswith("summer.")]
    decisions = {name for name, _ in others}
    assert {"needs.vision", "needs.attendance", "learning.noise", "english.entry", "cabinet.election",
            "leaving.graduation", "awareness.summer"} <= decisions
    changed = [key for key in others if off[key] != on[key]]
    assert changed == []
    enrolled = [_total(model.outcomes.table(), "summer_enrolled") for _, model in runs]
    assert enrolled[1] > 2 * enrolled[0]  # the programme did act


def _outcomes(seed: int) -> pd.DataFrame:
    return sk.run("universal_summer", years=2, seed=seed).outcomes


def test_same_numbers_in_other_processes(seed):
    """Nothing depends on the process: runs on a pool of workers equal runs in this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        remote = list(pool.map(_outcomes, [seed, seed + 1]))
    for run_seed, frame in zip([seed, seed + 1], remote):
        pd.testing.assert_frame_equal(frame, _outcomes(run_seed))


def _total(frame: pd.DataFrame, metric: str) -> float:
    return float(frame[(frame.metric == metric) & (frame.group_kind == "all")].value.sum())
