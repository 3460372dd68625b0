"""`HeadingRanker`: FAQ entries ranked by how similar the question they answer (their heading) is to the query.

A chunk's dense vector embeds its heading and its text together; when the heading is the question an FAQ entry
answers ("How is COVID-19 spread?"), a customer's paraphrase of that question is often closer to the heading alone
than to the whole entry, whose answer text talks of other things. So the chunks that answer a question
(`answers_a_question`: the heading ends with "?", or the document is marked `faq`) are ranked by question-to-question
similarity; other chunks are not in this ranking. A page title ("Designating the Record - California Appellate
Courts") names a topic many passages share, and ranking by it lowered mtrag_cloud_govt's recall@5 from 0.83 to 0.74.

The heading's vector is the one the composer compares headings by (`knowledge.sentence_vectors.heading_text`), kept
in the snapshot's sentence vectors, so ranking by it costs one matrix product over the entries' headings per query
and no extra embedding. The matrix is built from the store's current snapshot on first use and again after each
change (keyed by `KnowledgeStore.revision`): only the entries' heading rows are read from the manifest, and headings
a snapshot written before sentence vectors were kept lacks are embedded then, once.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge.documents import Chunk
from knowledge.embedding_cache import key_of
from knowledge.filters import matches
from knowledge.sentence_vectors import heading_text, read_sentence_vectors
from knowledge.snapshots import MANIFEST
from knowledge.store import KnowledgeStore


def answers_a_question(chunk: Chunk) -> bool:
    """Whether the chunk is an FAQ entry: its document is marked `faq`, or its heading is a question."""
    kind = str(chunk.metadata.get("doc_type") or chunk.metadata.get("type") or "").lower()
    return kind == "faq" or (chunk.section or chunk.title).strip().endswith("?")


@dataclass(frozen=True)
class _HeadingMatrix:
    revision: str | None
    row_ids: np.ndarray
    vectors: np.ndarray


class HeadingRanker:
    def __init__(self, store: KnowledgeStore) -> None:
        self.store = store
        self._matrix: _HeadingMatrix | None = None
        self._lock = threading.Lock()

    def candidates(
        self, vector: np.ndarray, depth: int, filters: Mapping[str, Any] | None = None
    ) -> list[tuple[int, float]]:
        """Up to `depth` (row id, heading cosine) pairs matching `filters`, best first."""
        matrix = self.matrix()
        if depth <= 0 or len(matrix.row_ids) == 0:
            return []
        scores = matrix.vectors @ np.asarray(vector, dtype=np.float32).reshape(-1)
        if filters:
            rows = self.store.chunk_rows()
            allowed = np.fromiter((matches(rows[int(r)], filters) for r in matrix.row_ids), dtype=bool)
            scores = np.where(allowed, scores, -np.inf)
        depth = min(depth, len(scores))
        top = np.argpartition(-scores, depth - 1)[:depth]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(matrix.row_ids[p]), float(scores[p])) for p in top if np.isfinite(scores[p])]

    def matrix(self) -> _HeadingMatrix:
        """The heading vectors of the FAQ entries of the store's current snapshot, one row per chunk, with their row
        ids."""
        with self._lock:
            revision = self.store.revision
            if self._matrix is None or self._matrix.revision != revision:
                entries = {row: chunk for row, chunk in self.store.chunk_rows().items() if answers_a_question(chunk)}
                row_ids = np.fromiter(entries.keys(), dtype=np.int64, count=len(entries))
                self._matrix = _HeadingMatrix(revision, row_ids, self._heading_vectors(revision, entries.values()))
            return self._matrix

    def _heading_vectors(self, revision: str | None, chunks: Collection[Chunk]) -> np.ndarray:
        embedder = self.store.embedder
        if not chunks:
            return np.zeros((0, embedder.dimension), dtype=np.float32)
        keys = {key_of(embedder, heading_text(chunk)): heading_text(chunk) for chunk in chunks}
        kept = read_sentence_vectors(self.store.directory / revision / MANIFEST, keys) if revision else {}
        missing = [key for key in keys if key not in kept]
        if missing:
            fresh = embedder.embed_documents([keys[key] for key in missing])
            kept.update(zip(missing, np.asarray(fresh, dtype=np.float32), strict=True))
        return np.stack([kept[key_of(embedder, heading_text(chunk))] for chunk in chunks])
