"""Neighborhood segregation: the dissimilarity index, and how the generator reaches a target for it.

The dissimilarity index of two groups over neighborhoods is half the sum of the absolute differences of
each neighborhood's share of either group: 0 when both are spread alike, 1 when they never share one.
A profile's ``[segregation]`` sets it for economically disadvantaged pupils (against all others) and for
white pupils (against all others). The generator tilts the neighborhood-by-race table towards richer
neighborhoods, and stretches neighborhood income differences, until the expected index is the target.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from .errors import ConfigError

WHITE = 0  # column of "white" in city.RACES


def dissimilarity(group: np.ndarray, others: np.ndarray) -> float:
    """Dissimilarity index from each neighborhood's count (or weight) of a group and of everyone else."""
    group, others = np.asarray(group, dtype=float), np.asarray(others, dtype=float)
    if group.sum() <= 0 or others.sum() <= 0:
        return 0.0
    return float(0.5 * np.abs(group / group.sum() - others / others.sum()).sum())


def fit_margins(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, iterations: int = 200,
                tolerance: float = 1e-6) -> np.ndarray:
    """Iterative proportional fitting: a table near ``seed`` whose margins are ``rows`` and ``cols``."""
    table = np.maximum(seed, 1e-12).astype(float)
    for _ in range(iterations):
        table *= (rows / table.sum(axis=1))[:, None]
        column_sums = table.sum(axis=0)
        table *= (cols / column_sums)[None, :]
        if np.abs(column_sums - cols).max() <= tolerance * cols.sum():
            break
    return table


def _solve(measure, target: float, low: float, high: float, what: str, city: str) -> float:
    """The parameter in [low, high] where the increasing function ``measure`` reaches ``target``."""
    if measure(high) < target:
        raise ConfigError(city, f"segregation.{what}",
                          f"{target} is more than these neighborhoods allow (at most {measure(high):.2f})")
    while high - low > 1e-4:
        middle = (low + high) / 2
        low, high = (middle, high) if measure(middle) < target else (low, middle)
    return (low + high) / 2


def race_table(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, position: np.ndarray,
               target: float | None, city: str) -> np.ndarray:
    """Expected families by neighborhood and race, tilted so white families lean towards neighborhoods of
    higher ``position`` (income) until the white/other dissimilarity index equals ``target``."""
    z = (position - position.mean()) / (position.std() or 1.0)
    direction = np.where(np.arange(seed.shape[1]) == WHITE, 1.0, -1.0)

    def table(tilt: float) -> np.ndarray:
        return fit_margins(seed * np.exp(tilt * np.outer(z, direction)), rows, cols)

    def index(tilt: float) -> float:
        fitted = table(tilt)
        return dissimilarity(fitted[:, WHITE], fitted.sum(axis=1) - fitted[:, WHITE])

    if target is None:
        return table(0.0)
    if index(0.0) <= target:
        return table(_solve(index, target, 0.0, 10.0, "race_dissimilarity", city))
    # The given mixes are more segregated than the target: untilt towards evenness.
    return table(-_solve(lambda t: -index(-t), -target, 0.0, _least_segregated(index), "race_dissimilarity", city))


def _least_segregated(index) -> float:
    """How far the tilt can go the other way before segregation rises again."""
    step, best = 0.25, 0.0
    while best < 10 and index(-(best + step)) < index(-best):
        best += step
    return best


def income_spread(table: np.ndarray, income_index: np.ndarray, race_shift: np.ndarray, share: float,
                  target: float | None, city: str) -> float:
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

    return _solve(index, target, 0.0, 30.0, "income_dissimilarity", city)
