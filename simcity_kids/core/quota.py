"""Quotas: integer counts that add up exactly, and flags that fill a share by a latent order."""

from __future__ import annotations

import numpy as np


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts proportional to ``weights`` that add up to ``total`` exactly."""
    weights = np.asarray(weights, dtype=float)
    if weights.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not weights.sum() > 0:  # e.g. the race mix of a neighborhood of a tiny city that got no family
        weights = np.ones_like(weights)
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(raw - counts, kind="stable")[::-1][: total - counts.sum()]] += 1
    return counts


def top_share(latent: np.ndarray, weight: np.ndarray, share: float) -> np.ndarray:
    """Flag the rows with the highest latent until their weight reaches ``share`` of the total weight. Rows of equal
    latent come in any order (a fast unstable sort): callers pass continuous draws, or -inf for rows they mask out."""
    order = np.argsort(-latent)
    cumulative = np.cumsum(weight[order])
    flagged = np.zeros(latent.size, dtype=bool)
    flagged[order[cumulative <= share * weight.sum() + 0.5]] = True
    return flagged


def top_share_by_group(latent: np.ndarray, weight: np.ndarray, group: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """``top_share`` within each group, with its own share: one sort, no loop over groups."""
    order = np.lexsort((-latent, group))
    sorted_group, sorted_weight = group[order], weight[order]
    cumulative = np.cumsum(sorted_weight)
    start = np.searchsorted(sorted_group, sorted_group, side="left")
    before = np.where(start > 0, cumulative[start - 1], 0.0)
    totals = np.bincount(group, weights=weight, minlength=shares.size)
    flagged = np.zeros(latent.size, dtype=bool)
    flagged[order] = cumulative - before <= shares[sorted_group] * totals[sorted_group] + 0.5
    return flagged
