"""Capacity-limited allocation of slots: nobody is placed beyond a provider's capacity.

Applicants go to their nearest provider first; those left over try the next nearest in the next round.
Within a provider, the waitlist order is the priority key (lower first). The applicants are sorted by
priority once; each round groups them by provider with a stable radix sort of small integers and counts
capacities with ``bincount``: no Python loop over children.
"""

from __future__ import annotations

import numpy as np

BUCKET_BITS = 8  # priority buckets of each provider's applicant histogram in ``allocate``: the key's top byte


def quantile_key(priority: np.ndarray) -> np.ndarray:
    """A 32-bit key that orders like ``priority``: its place between the lowest and the highest priority."""
    low, span = float(priority.min()), float(np.ptp(priority))
    if span == 0.0:
        return np.zeros(priority.size, dtype=np.uint32)
    return ((priority - low) * ((2**32 - 1) / span)).astype(np.uint32)


def key_order(key: np.ndarray) -> np.ndarray:
    """Indices that sort a 32-bit ``key`` stably: numpy sorts 16-bit integers by radix (ten times faster than a
    float sort); two stable passes over the low and high halves sort the 32-bit key."""
    order = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((key >> 16).astype(np.uint16)[order], kind="stable")]


def priority_order(priority: np.ndarray) -> np.ndarray:
    """Indices that sort ``priority`` (lower first), by a radix sort of its 32-bit quantile key.

    Priorities closer than 1/2**32 of their range fall in one key and keep their row order: the keys' own
    tie-breaks (lotteries) are far coarser than that."""
    if priority.size == 0:
        return np.empty(0, dtype=np.int64)
    return key_order(quantile_key(priority))


def allocate(choices: np.ndarray, priority: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Place applicants in providers.

    choices: (applicants, rounds) provider ids, nearest first. priority: (applicants,) lower goes first.
    capacity: (providers,) free slots. Returns each applicant's provider id, or -1 if none had room.

    A provider's free slots go to its first waiting applicants by priority (``priority_order``'s key); they all
    lie in the priority buckets up to the one where a histogram of its waiting applicants reaches its free slots.
    Each round counts that histogram and ranks only the applicants in those buckets: beyond a few passes over the
    applicants, the work is proportional to the slots filled, not to the applicants.
    """
    placed_at = np.full(choices.shape[0], -1, dtype=np.int64)
    free = capacity.astype(np.int64).copy()
    if choices.shape[0] == 0:
        return placed_at
    key = quantile_key(priority)
    bucket = (key >> np.uint32(32 - BUCKET_BITS)).astype(np.int64)
    cells = free.size << BUCKET_BITS
    placed = np.empty(0, dtype=np.int64)  # applicants placed in an earlier round
    for round_ in range(choices.shape[1]):
        if placed.size == choices.shape[0] or free.sum() == 0:
            break
        provider = choices[:, round_]
        cell = (provider.astype(np.int64) << BUCKET_BITS) + bucket
        waiting = np.bincount(cell, minlength=cells) - np.bincount(cell[placed], minlength=cells)
        waiting = waiting.reshape(free.size, -1)
        reaches_free = waiting.cumsum(axis=1) >= free[:, None]
        last = np.where(reaches_free.any(axis=1), reaches_free.argmax(axis=1), (1 << BUCKET_BITS) - 1)
        last[free == 0] = -1
        near = bucket <= last[provider]
        near[placed] = False
        rows = np.flatnonzero(near)
        takes_all = (waiting.sum(axis=1) <= free)[provider[rows]]  # room for every applicant: no ranking needed
        everyone = rows[takes_all]
        placed_at[everyone] = provider[everyone]
        free -= np.bincount(provider[everyone], minlength=free.size)
        rows = rows[~takes_all]
        rows = rows[key_order(key[rows])]  # rows ascend: equal keys keep their row order
        at = provider[rows].astype(np.int16)  # small integers: numpy's stable sort is a radix sort
        order = np.argsort(at, kind="stable")  # stable: keeps priority order within a provider
        sorted_at = at[order]
        per_provider = np.bincount(sorted_at, minlength=free.size)
        first = (np.cumsum(per_provider) - per_provider)[sorted_at]  # where each provider's run starts
        accepted = np.arange(sorted_at.size) - first < free[sorted_at]
        ranked_in = rows[order[accepted]]
        placed_at[ranked_in] = sorted_at[accepted]
        free -= np.bincount(sorted_at[accepted], minlength=free.size)
        placed = np.concatenate([placed, everyone, ranked_in])
    return placed_at
