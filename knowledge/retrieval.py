"""Retrievers: the narrow interface the chat engine searches through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from knowledge.base import KnowledgeBase
from knowledge.documents import SearchHit


@runtime_checkable
class Retriever(Protocol):
    def retrieve(self, query: str, top_k: int = 5, filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        """The best chunks for `query`, best first, with scores the answer policy can threshold."""
        ...


class DenseRetriever:
    """Cosine similarity over the knowledge base's FAISS index."""

    def __init__(self, knowledge: KnowledgeBase, per_document: int = 2) -> None:
        self.knowledge = knowledge
        self._per_document = per_document

    def retrieve(self, query: str, top_k: int = 5, filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        return self.knowledge.search(query, top_k, filters, self._per_document)
