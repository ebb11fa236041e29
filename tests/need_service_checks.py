"""A check every need-service test shares: providers' yearly capacity holds month by month."""

from __future__ import annotations

from collections.abc import Iterator

import simcity_kids as sk
from simcity_kids.core.calendar import SEPTEMBER
from simcity_kids.programmes.base import Programme


def months_within_capacity(model: sk.CityModel, programme: Programme, months: int) -> Iterator[tuple[bool, int]]:
    """Step ``months`` months; after each, check that no provider of ``programme`` holds more than its capacity or
    took more than it had free (a need service's capacity counts children per school year, so counts start again
    in September), then yield (whether the month was a September, its school year) for the caller's checks."""
    for _ in range(months):
        new_year, year = model.calendar_month == SEPTEMBER, model.school_year
        room = [p.capacity - p.enrolled for p in programme.providers]
        before = [p.enrolled for p in programme.providers]
        model.step()
        for provider, free, was in zip(programme.providers, room, before):
            assert 0 <= provider.enrolled <= provider.capacity
            assert new_year or provider.enrolled - was <= free
        yield new_year, year
