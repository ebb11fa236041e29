"""Shared fixtures: runs that several tests read are made once per session."""

from __future__ import annotations

import pytest

import simcity_kids as sk


@pytest.fixture(scope="session")
def baseline_run() -> sk.RunResult:
    return sk.run("baseline", city="salem", years=10, seed=11)


@pytest.fixture(scope="session")
def large_salem() -> sk.CityProfile:
    """Salem's profile with ten times the pupils: group means with little sampling noise."""
    return sk.load_city("salem").model_copy(update={"pupils": 38_000})
