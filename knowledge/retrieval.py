"""The `Retriever` protocol: the narrow interface the chat engine searches through.

Its implementations live in `knowledge.retrievers` (dense, lexical and hybrid, each over a `KnowledgeStore`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from knowledge.documents import SearchHit


@runtime_checkable
class Retriever(Protocol):
    def retrieve(self, query: str, top_k: int = 5, filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        """The best chunks for `query`, best first, with scores the answer policy can threshold."""
        ...
