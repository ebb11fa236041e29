"""Capacity-limited allocation of slots: nobody is placed beyond a provider's capacity.

Applicants go to their nearest provider first; those left over try the next nearest in the next round.
Within a provider, the waitlist order is the priority key (lower first). The applicants are sorted by
priority once; each round groups them by provider with a stable radix sort of small integers and counts
capacities with ``bincount``: no Python loop over children.
"""

from __future__ import annotations

import numpy as np


def allocate(choices: np.ndarray, priority: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Place applicants in providers.

    choices: (applicants, rounds) provider ids, nearest first. priority: (applicants,) lower goes first.
    capacity: (providers,) free slots. Returns each applicant's provider id, or -1 if none had room.
    """
    placed_at = np.full(choices.shape[0], -1, dtype=np.int64)
    free = capacity.astype(np.int64).copy()
    by_priority = np.argsort(priority)  # introsort: deterministic, and ties are broken by the keys' lottery
    for round_ in range(choices.shape[1]):
        waiting = by_priority[placed_at[by_priority] < 0]
        if waiting.size == 0 or free.sum() == 0:
            break
        provider = choices[waiting, round_].astype(np.int16)  # small integers: numpy's stable sort is a radix sort
        order = np.argsort(provider, kind="stable")  # stable: keeps priority order within a provider
        sorted_provider = provider[order]
        per_provider = np.bincount(sorted_provider, minlength=free.size)
        first = (np.cumsum(per_provider) - per_provider)[sorted_provider]  # where each provider's run starts
        rank = np.arange(sorted_provider.size) - first
        accepted = rank < free[sorted_provider]
        placed_at[waiting[order[accepted]]] = sorted_provider[accepted]
        free -= np.bincount(sorted_provider[accepted], minlength=free.size)
    return placed_at
