"""The knowledge layer's value types: documents, their chunks, and search hits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One help-centre article, FAQ entry or policy page, as loaded from its source."""

    id: str
    title: str
    text: str
    source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """A hash of everything that changes what gets indexed; equal hashes mean nothing to re-embed."""
        payload = json.dumps(
            [self.title, self.text, self.source, dict(self.metadata)], sort_keys=True, ensure_ascii=False, default=str
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, small enough for the embedder to read whole."""

    id: str
    document_id: str
    title: str
    text: str
    source: str = ""
    section: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def embedding_text(self) -> str:
        """What the embedder (and BM25) reads: the title and section give a passage its subject.

        A title the passage already opens with (as many help-centre pages do) is not repeated before it.
        """
        title = "" if _opens_with(self.text, self.title) else self.title
        heading = " - ".join(part for part in (title, self.section) if part)
        return f"{heading}\n{self.text}" if heading else self.text


def _opens_with(text: str, prefix: str) -> bool:
    return bool(prefix) and text.startswith(prefix) and not text[len(prefix) : len(prefix) + 1].isalnum()


@dataclass(frozen=True)
class SearchHit:
    """A retrieved chunk with its scores; higher is better.

    `score` is always the cosine similarity of query and chunk, so the answer policy can threshold it whichever
    retriever ranked the hit. Lexical and hybrid retrieval also fill in the BM25 score (None when BM25 did not find
    the chunk), hybrid retrieval the fused reciprocal-rank score it ordered by.
    """

    chunk: Chunk
    score: float
    lexical_score: float | None = None
    fused_score: float | None = None
