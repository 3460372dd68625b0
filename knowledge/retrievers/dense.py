"""`DenseRetriever`: cosine similarity over the store's FAISS index; the one dense search path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from knowledge.documents import SearchHit
from knowledge.filters import matches
from knowledge.grouping import group_by_document
from knowledge.store import KnowledgeStore

FETCH_GROWTH = 4
"""How much more than wanted is fetched when filters or grouping may drop candidates, and the growth per retry."""


class DenseRetriever:
    def __init__(self, store: KnowledgeStore, per_document: int = 2) -> None:
        self.store = store
        self.per_document = per_document

    def retrieve(self, query: str, top_k: int = 5, filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        """The `top_k` most similar chunks, at most `per_document` from one document."""
        if self.store.vector_count == 0 or not query.strip():
            return []
        rows = self.store.chunk_rows()
        vector = self.store.embedder.embed_query(query)
        ranked = self.candidates(vector, top_k, filters, self.per_document)
        return [SearchHit(rows[row], score) for row, score in ranked]

    def candidates(
        self,
        vector: np.ndarray,
        depth: int,
        filters: Mapping[str, Any] | None = None,
        per_document: int | None = None,
    ) -> list[tuple[int, float]]:
        """Up to `depth` (row id, cosine) pairs matching `filters`, best first; at most `per_document` per document.

        Filters and grouping can drop candidates, so then a multiple of `depth` is fetched, and more until enough
        are kept or the index is exhausted.
        """
        size = self.store.vector_count
        if size == 0 or depth <= 0:
            return []
        rows = self.store.chunk_rows()
        may_drop = bool(filters) or per_document is not None
        fetch = depth * FETCH_GROWTH if may_drop else depth
        while True:
            raw = self.store.nearest(vector, fetch)
            kept = [(row, score) for row, score in raw if row in rows and matches(rows[row], filters)]
            if per_document is not None:
                kept = group_by_document(kept, depth, per_document, lambda pair: rows[pair[0]].document_id)
            if len(kept) >= depth or len(raw) < fetch or fetch >= size:
                return kept[:depth]
            fetch *= FETCH_GROWTH
