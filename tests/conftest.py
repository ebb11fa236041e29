"""Shared fixtures: the test seed, and runs that several tests read, made once per session.

Every test that needs a seed takes it from the ``seed`` fixture (or ``TEST_SEED`` plus an offset), so the
whole suite can be run under another seed: ``SIMCITY_KIDS_TEST_SEED=7 make test``. A test must hold for any
seed: its tolerances come from the sampling error, not from one lucky draw.
"""

from __future__ import annotations

import os

import pytest

import simcity_kids as sk

TEST_SEED = int(os.environ.get("SIMCITY_KIDS_TEST_SEED", "0"))


def pytest_report_header(config) -> str:
    return f"simcity-kids test seed: {TEST_SEED} (set SIMCITY_KIDS_TEST_SEED to change it)"


@pytest.fixture
def seed() -> int:
    """The run's seed for tests that take one (SIMCITY_KIDS_TEST_SEED, default 0)."""
    return TEST_SEED


@pytest.fixture(scope="session")
def baseline_run() -> sk.RunResult:
    return sk.run("baseline", city="salem", years=10, seed=TEST_SEED + 11)


@pytest.fixture(scope="session")
def large_salem() -> sk.CityProfile:
    """Salem's profile with ten times the pupils: group means with little sampling noise."""
    return sk.load_city("salem").model_copy(update={"pupils": 38_000})
