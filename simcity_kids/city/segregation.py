"""Neighborhood segregation: the dissimilarity index, and how the generator reaches a target for it.

The dissimilarity index of two groups over neighborhoods is half the sum of the absolute differences of
each neighborhood's share of either group: 0 when both are spread alike, 1 when they never share one.
A profile's ``[segregation]`` sets it for economically disadvantaged pupils (against all others) and for
white pupils (against all others). The generator tilts the neighborhood-by-race table towards richer
neighborhoods (or mixes it towards evenness), and stretches neighborhood income differences, until the
expected index is the target; a target out of reach is refused with the range these neighborhoods allow.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

from ..core.validation import ConfigError

WHITE = 0  # column of "white" in city.RACES
MAX_TILT = 10.0  # the most the race table is tilted towards richer neighborhoods
MAX_SPREAD = 30.0  # the most neighborhood income indexes are stretched
REACH_TOLERANCE = 1e-3  # a target this close to the reachable range is reached at its end


def dissimilarity(group: np.ndarray, others: np.ndarray) -> float:
    """Dissimilarity index from each neighborhood's count (or weight) of a group and of everyone else."""
    group, others = np.asarray(group, dtype=float), np.asarray(others, dtype=float)
    if group.sum() <= 0 or others.sum() <= 0:
        return 0.0
    return float(0.5 * np.abs(group / group.sum() - others / others.sum()).sum())


def fit_margins(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, iterations: int = 200,
                tolerance: float = 1e-6) -> np.ndarray:
    """Iterative proportional fitting: a table near ``seed`` whose margins are ``rows`` and ``cols``. A row
    or column whose margin is 0 (a neighborhood without families, a race without any) stays 0."""
    table = np.maximum(seed, 1e-12).astype(float)
    for _ in range(iterations):
        table *= _ratio(rows, table.sum(axis=1))[:, None]
        column_sums = table.sum(axis=0)
        table *= _ratio(cols, column_sums)[None, :]
        if np.abs(column_sums - cols).max() <= tolerance * cols.sum():
            break
    return table


def _ratio(wanted: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Factors that scale ``current`` sums to ``wanted`` ones; 0 where a sum is already 0."""
    return np.divide(wanted, current, out=np.zeros(current.shape), where=current > 0)


def _solve(measure: Callable[[float], float], target: float, low: float, high: float, what: str,
           source: str) -> float:
    """The parameter in [low, high] where the increasing function ``measure`` reaches ``target``; a target
    out of its reach is refused with the range that is reachable."""
    least, most = measure(low) - REACH_TOLERANCE, measure(high) + REACH_TOLERANCE
    if not least <= target <= most:
        # The range shown is rounded inwards, so that every value in it is reachable.
        shown = f"{math.ceil(least * 100) / 100:g} to {math.floor(most * 100) / 100:g}"
        raise ConfigError(source, f"segregation.{what}", f"{target:g} is {'more' if target > most else 'less'} "
                          f"than these neighborhoods allow; allowed: {shown}")
    while high - low > 1e-4:
        middle = (low + high) / 2
        low, high = (middle, high) if measure(middle) < target else (low, middle)
    return (low + high) / 2


def race_table(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, position: np.ndarray,
               target: float | None, source: str) -> np.ndarray:
    """Expected families by neighborhood and race with the white/other dissimilarity index at ``target``.

    A target above the index of the given mixes (``seed``) tilts white families towards neighborhoods of
    higher ``position`` (income); a target below it mixes in the table without segregation (every
    neighborhood with the city's mix), which lowers the index in proportion, so any target from 0 up to the
    most tilted table is reached. ``source`` is the file the profile came from, for the error message.
    """
    given = fit_margins(seed, rows, cols)
    if target is None:
        return given
    even = fit_margins(np.ones_like(seed), rows, cols)
    z = (position - position.mean()) / (position.std() or 1.0)
    direction = np.where(np.arange(seed.shape[1]) == WHITE, 1.0, -1.0)

    def table(tilt: float) -> np.ndarray:
        """Tilt in [-1, 0): share -tilt of the even table mixed in (both have the margins, so the mix has
        them too); tilt >= 0: white families leaning towards richer neighborhoods."""
        if tilt < 0:
            return (1 + tilt) * given - tilt * even
        return fit_margins(seed * np.exp(tilt * np.outer(z, direction)), rows, cols)

    def index(tilt: float) -> float:
        fitted = table(tilt)
        return dissimilarity(fitted[:, WHITE], fitted.sum(axis=1) - fitted[:, WHITE])

    return table(_solve(index, target, -1.0, MAX_TILT, "race_dissimilarity", source))


def income_spread(table: np.ndarray, income_index: np.ndarray, race_shift: np.ndarray, share: float,
                  target: float | None, source: str) -> float:
    """Factor on neighborhood income indexes that gives the target disadvantaged/other dissimilarity.

    A family is disadvantaged when ``factor * income_index + race_shift + N(0, 1)`` falls below a threshold
    set so that ``share`` of families are; the index is computed on the expected counts."""
    if target is None:
        return 1.0
    weights = table / table.sum()

    def index(factor: float) -> float:
        location = factor * income_index[:, None] + race_shift[None, :]
        low, high = -20.0, 20.0
        while high - low > 1e-7:  # threshold with the right share
            middle = (low + high) / 2
            low, high = (middle, high) if (weights * ndtr(middle - location)).sum() < share else (low, middle)
        chance = ndtr((low + high) / 2 - location)
        disadvantaged = (weights * chance).sum(axis=1)
        return dissimilarity(disadvantaged, weights.sum(axis=1) - disadvantaged)

    return _solve(index, target, 0.0, MAX_SPREAD, "income_dissimilarity", source)
