"""Named random streams for common random numbers.

Every random decision draws from its own stream, keyed by the run's seed, the decision's name and the
month. Switching a programme on therefore never shifts the draws of an unrelated decision, so two
scenarios on the same seed differ only by what the scenario changes (as in Starsim).
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Seeded generators, one per (decision, month), all derived from one ``SeedSequence``."""

    def __init__(self, seed: int | np.random.SeedSequence):
        self.seed_sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._base_key = int(self.seed_sequence.generate_state(1, np.uint64)[0])  # of ``uniform``'s streams

    def __call__(self, name: str, month: int = 0) -> np.random.Generator:
        """The generator for decision ``name`` in month ``month`` (a fresh, independent stream)."""
        key = (*self.seed_sequence.spawn_key, zlib.crc32(name.encode()), month % 2**32)  # burn-in months are < 0
        child = np.random.SeedSequence(self.seed_sequence.entropy, spawn_key=key)
        return np.random.Generator(np.random.PCG64(child))

    def uniform(self, name: str, month: int, rows: np.ndarray) -> np.ndarray:
        """One uniform number on [0, 1) for each of ``rows`` (row positions), from decision ``name`` in ``month``.

        A counter-based generator: row i's number is SplitMix64's output for the stream's key and i, so it depends
        only on the stream and the row. Drawing for the few rows a decision concerns costs only those rows, and
        never shifts anyone else's draw (common random numbers, as with ``__call__``)."""
        z = np.asarray(rows, dtype=np.uint64) * _GOLDEN
        z += np.uint64(self._uniform_key(name, month))
        z ^= z >> np.uint64(30)
        z *= _MIX1
        z ^= z >> np.uint64(27)
        z *= _MIX2
        z ^= z >> np.uint64(31)
        return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53

    def _uniform_key(self, name: str, month: int) -> int:
        """The 64-bit key of ``uniform``'s stream ``name`` in ``month``: the run's base key mixed with the name's
        CRC-32, then with the month (SplitMix64 steps, so that nearby names and months give unrelated keys)."""
        return _mix64(_mix64(self._base_key + zlib.crc32(name.encode()) * _GOLDEN_INT) + month * _GOLDEN_INT)


# SplitMix64 (Steele, Lea & Flood 2014): the golden-ratio increment and the two multipliers of its output mix.
_GOLDEN, _MIX1, _MIX2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN_INT, _MASK64 = int(_GOLDEN), 2**64 - 1
SQRT3 = np.float32(np.sqrt(3.0))


def _mix64(z: int) -> int:
    """SplitMix64's output mix of a Python integer (mod 2**64): keys a ``uniform`` stream in microseconds."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * int(_MIX1)) & _MASK64
    z = ((z ^ (z >> 27)) * int(_MIX2)) & _MASK64
    return z ^ (z >> 31)


def geometric_months(draw: np.ndarray, chance: np.ndarray | float) -> np.ndarray:
    """Months until the first success when each month succeeds with ``chance``: geometric (at least 1), by the
    inverse CDF of one uniform ``draw`` per person (int16); a chance of 0 waits longer than any run, and a chance
    of 1 succeeds next month."""
    with np.errstate(divide="ignore"):  # a chance of 1: log 0 = -inf, and every draw gives 1 month
        months = np.floor(np.log1p(-draw) / np.log1p(-np.maximum(chance, 1e-12))) + 1.0
    return np.minimum(months, np.iinfo(np.int16).max).astype(np.int16)


def monthly_noise(rng: np.random.Generator, shape: int | tuple[int, ...], sd: float) -> np.ndarray:
    """Zero-mean float32 noise with standard deviation ``sd``, uniform on [-sd*sqrt(3), sd*sqrt(3)].

    Used for month-to-month shocks that are summed over many months, where the sum is close to normal
    (central limit); a uniform draw costs about a third of a normal one, the floor of the model's speed.
    """
    noise = rng.random(shape, dtype=np.float32)
    noise -= np.float32(0.5)
    noise *= np.float32(2 * sd) * SQRT3
    return noise
