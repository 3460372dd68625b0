"""The pluggable reranker stage of retrieval: reorders fused candidates before they are grouped and cut to top-k.

Off by default: no cross-encoder with bundled weights is available offline. `CrossEncoderReranker` takes a local
sentence-transformers cross-encoder folder (or a model id already in the Hugging Face cache).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from knowledge.documents import SearchHit
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)


@runtime_checkable
class Reranker(Protocol):
    def rerank(self, query: str, hits: Sequence[SearchHit]) -> list[SearchHit]:
        """The same hits, best first, each with `rerank_score` set."""
        ...


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a sentence-transformers `CrossEncoder`, loaded on first use."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        self._model_ref = model
        self._device = device
        self._model: Any = None

    def _loaded(self) -> Any:
        if self._model is None:
            from sentence_transformers import CrossEncoder

            log.info("loading reranker %s", self._model_ref)
            try:
                self._model = CrossEncoder(self._model_ref, device=self._device)
            except (OSError, ValueError) as error:
                raise KnowledgeError(f"cannot load reranker '{self._model_ref}': {error}") from error
        return self._model

    def rerank(self, query: str, hits: Sequence[SearchHit]) -> list[SearchHit]:
        if not hits:
            return []
        scores = self._loaded().predict([(query, hit.chunk.embedding_text()) for hit in hits])
        rescored = [replace(hit, rerank_score=float(score)) for hit, score in zip(hits, scores, strict=True)]
        return sorted(rescored, key=lambda hit: hit.rerank_score or 0.0, reverse=True)
