"""Reciprocal rank fusion: merge several ranked lists by 1 / (k + rank), robust to their incomparable scores."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)

DEFAULT_RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Key]], k: int = DEFAULT_RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[Key, float]]:
    """Items of all `rankings` (best first) with their fused score, best first; ties keep first-seen order."""
    weights = weights if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    fused: dict[Key, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda pair: pair[1], reverse=True)
