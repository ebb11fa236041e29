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

    def __call__(self, name: str, month: int = 0) -> np.random.Generator:
        """The generator for decision ``name`` in month ``month`` (a fresh, independent stream)."""
        key = (*self.seed_sequence.spawn_key, zlib.crc32(name.encode()), month)
        child = np.random.SeedSequence(self.seed_sequence.entropy, spawn_key=key)
        return np.random.Generator(np.random.PCG64(child))


SQRT3 = np.float32(np.sqrt(3.0))


def monthly_noise(rng: np.random.Generator, shape: int | tuple[int, ...], sd: float) -> np.ndarray:
    """Zero-mean float32 noise with standard deviation ``sd``, uniform on [-sd*sqrt(3), sd*sqrt(3)].

    Used for month-to-month shocks that are summed over many months, where the sum is close to normal
    (central limit); a uniform draw costs about a third of a normal one, the floor of the model's speed.
    """
    noise = rng.random(shape, dtype=np.float32)
    noise -= np.float32(0.5)
    noise *= np.float32(2 * sd) * SQRT3
    return noise
