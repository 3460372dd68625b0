"""`HybridRetriever`: dense (FAISS) and lexical (BM25) candidates fused by reciprocal rank, then grouped.

Both searches honour the metadata filters. Fused chunks are optionally reranked, then at most `per_document` chunks
of one document are kept so that a long article cannot fill every slot. Each hit carries its cosine similarity as
`score` (what the answer policy thresholds), its BM25 score and the fused score it was ranked by.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge.base import KnowledgeBase, matches
from knowledge.documents import SearchHit
from knowledge.fusion import DEFAULT_RRF_K, reciprocal_rank_fusion
from knowledge.lexical import LexicalIndex
from knowledge.reranking import Reranker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HybridSettings:
    candidates: int = 50
    """How many chunks each of dense and BM25 search contributes to the fusion."""
    rrf_k: int = DEFAULT_RRF_K
    dense_weight: float = 1.0
    lexical_weight: float = 0.5
    """BM25's share of the fusion. 0.5 beat 1.0 on all three shared dev sets with MiniLM (recall@5: mtrag 0.767 vs
    0.763, covid 0.888 vs 0.837, dstc11 0.098 vs 0.082): BM25 adds exact terms, but on short follow-up questions
    ("is it pet friendly?") its matches are noisier than the embedder's."""
    per_document: int = 2
    rerank_depth: int = 20


@dataclass(frozen=True)
class _LexicalSnapshot:
    revision: str | None
    row_ids: np.ndarray
    index: LexicalIndex


class HybridRetriever:
    def __init__(
        self, knowledge: KnowledgeBase, settings: HybridSettings | None = None, reranker: Reranker | None = None
    ) -> None:
        self.knowledge = knowledge
        self.settings = settings or HybridSettings()
        self.reranker = reranker
        self._lexical: _LexicalSnapshot | None = None
        self._lock = threading.Lock()

    def lexical_index(self) -> tuple[np.ndarray, LexicalIndex]:
        """The BM25 index of the knowledge base's current snapshot (built on first use after each change)."""
        with self._lock:
            revision = self.knowledge.revision
            if self._lexical is None or self._lexical.revision != revision:
                rows = self.knowledge.chunk_rows()
                row_ids = np.fromiter(rows.keys(), dtype=np.int64, count=len(rows))
                index = LexicalIndex([chunk.embedding_text() for chunk in rows.values()])
                self._lexical = _LexicalSnapshot(revision, row_ids, index)
                log.info("built BM25 index over %d chunks", len(row_ids))
            return self._lexical.row_ids, self._lexical.index

    def retrieve(self, query: str, top_k: int = 5, filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        if not query.strip() or self.knowledge.chunk_count == 0 or top_k <= 0:
            return []
        settings = self.settings
        rows = self.knowledge.chunk_rows()
        depth = max(settings.candidates, top_k * settings.per_document)
        vector = self.knowledge.embedder.embed_query(query)
        dense = self.knowledge.dense_candidates(vector, depth, filters)
        row_ids, lexical_index = self.lexical_index()
        allowed = None
        if filters:
            allowed = np.fromiter((matches(rows[int(r)], filters) for r in row_ids), dtype=np.float32)
        lexical = [(int(row_ids[p]), score) for p, score in lexical_index.search(query, depth, allowed)]
        fused = reciprocal_rank_fusion(
            [[row for row, _ in dense], [row for row, _ in lexical]],
            k=settings.rrf_k,
            weights=[settings.dense_weight, settings.lexical_weight],
        )
        cosines = dict(dense)
        cosines.update(self.knowledge.similarities(vector, [row for row, _ in fused if row not in cosines]))
        lexical_scores = dict(lexical)
        hits = [
            SearchHit(rows[row], cosines[row], lexical_score=lexical_scores.get(row), fused_score=fused_score)
            for row, fused_score in fused
        ]
        if self.reranker is not None:
            head = self.reranker.rerank(query, hits[: settings.rerank_depth])
            hits = head + hits[settings.rerank_depth :]
        return group_by_document(hits, top_k, settings.per_document)


def group_by_document(hits: Sequence[SearchHit], top_k: int, per_document: int) -> list[SearchHit]:
    """The first `top_k` hits, keeping at most `per_document` chunks of any one document."""
    kept: list[SearchHit] = []
    counts: dict[str, int] = {}
    for hit in hits:
        document_id = hit.chunk.document_id
        if counts.get(document_id, 0) >= per_document:
            continue
        counts[document_id] = counts.get(document_id, 0) + 1
        kept.append(hit)
        if len(kept) == top_k:
            break
    return kept
