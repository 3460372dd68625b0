"""`LexicalRetriever`: BM25 over the store's chunks, for the exact words dense search misses (product names, codes).

The BM25 index is built in memory from the store's current snapshot on first use, and again after each change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge.documents import SearchHit
from knowledge.filters import matches
from knowledge.grouping import group_by_document
from knowledge.lexical import LexicalIndex
from knowledge.store import KnowledgeStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _LexicalSnapshot:
    revision: str | None
    row_ids: np.ndarray
    index: LexicalIndex


class LexicalRetriever:
    def __init__(self, store: KnowledgeStore, per_document: int = 2) -> None:
        self.store = store
        self.per_document = per_document
        self._lexical: _LexicalSnapshot | None = None
        self._lock = threading.Lock()

    def retrieve(self, query: str, top_k: int = 5, filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        """The `top_k` best BM25 matches, at most `per_document` from one document; `score` is still the cosine."""
        if not query.strip() or self.store.chunk_count == 0 or top_k <= 0:
            return []
        rows = self.store.chunk_rows()
        ranked = self.candidates(query, self.store.chunk_count, filters)
        kept = group_by_document(ranked, top_k, self.per_document, lambda pair: rows[pair[0]].document_id)
        cosines = self.store.similarities(self.store.embedder.embed_query(query), [row for row, _ in kept])
        return [SearchHit(rows[row], cosines[row], lexical_score=score) for row, score in kept]

    def candidates(self, query: str, depth: int, filters: Mapping[str, Any] | None = None) -> list[tuple[int, float]]:
        """Up to `depth` (row id, BM25 score) pairs with a positive score matching `filters`, best first."""
        row_ids, index = self.index()
        allowed = None
        if filters:
            rows = self.store.chunk_rows()
            allowed = np.fromiter((matches(rows[int(r)], filters) for r in row_ids), dtype=np.float32)
        return [(int(row_ids[p]), score) for p, score in index.search(query, depth, allowed)]

    def index(self) -> tuple[np.ndarray, LexicalIndex]:
        """The BM25 index of the store's current snapshot, with the row id of each of its positions."""
        with self._lock:
            revision = self.store.revision
            if self._lexical is None or self._lexical.revision != revision:
                rows = self.store.chunk_rows()
                row_ids = np.fromiter(rows.keys(), dtype=np.int64, count=len(rows))
                index = LexicalIndex([chunk.embedding_text() for chunk in rows.values()])
                self._lexical = _LexicalSnapshot(revision, row_ids, index)
                log.info("built BM25 index over %d chunks", len(row_ids))
            return self._lexical.row_ids, self._lexical.index
