"""`group_by_document`: the one rule that keeps a long document from filling every result slot."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

Ranked = TypeVar("Ranked")


def group_by_document(
    ranked: Iterable[Ranked], top_k: int, per_document: int, document_of: Callable[[Ranked], str]
) -> list[Ranked]:
    """The first `top_k` items of `ranked` (best first), keeping at most `per_document` of any one document."""
    kept: list[Ranked] = []
    counts: dict[str, int] = {}
    for item in ranked:
        document_id = document_of(item)
        if counts.get(document_id, 0) >= per_document:
            continue
        counts[document_id] = counts.get(document_id, 0) + 1
        kept.append(item)
        if len(kept) == top_k:
            break
    return kept
