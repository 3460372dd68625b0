"""LangChain interop: any Deskbot retriever as a langchain-core `BaseRetriever`, and LangChain `Document`s in.

langchain-core is imported here only, so the rest of the knowledge layer does not depend on it. The conveniences
`as_langchain_retriever(store)` and `add_langchain_documents(writer, documents)` cover the common cases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LangChainDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from knowledge.documents import Document
from knowledge.errors import KnowledgeError
from knowledge.reports import SyncReport
from knowledge.retrievers.hybrid import HybridRetriever
from knowledge.store import KnowledgeStore
from knowledge.writer import KnowledgeWriter


class LangChainRetriever(BaseRetriever):
    """Wraps a Deskbot `Retriever`; each result's metadata carries the chunk's ids, title, source and scores."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    top_k: int = 4
    filters: dict[str, Any] = Field(default_factory=dict)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LangChainDocument]:
        hits = self.retriever.retrieve(query, self.top_k, self.filters or None)
        return [
            LangChainDocument(
                page_content=hit.chunk.text,
                id=hit.chunk.id,
                metadata={
                    **dict(hit.chunk.metadata),
                    "document_id": hit.chunk.document_id,
                    "chunk_id": hit.chunk.id,
                    "title": hit.chunk.title,
                    "section": hit.chunk.section,
                    "source": hit.chunk.source,
                    "score": hit.score,
                    "lexical_score": hit.lexical_score,
                    "fused_score": hit.fused_score,
                },
            )
            for hit in hits
        ]


def from_langchain(documents: Iterable[LangChainDocument]) -> list[Document]:
    """Deskbot documents from LangChain ones: id from `Document.id`, else metadata "id", else a content hash."""
    converted = []
    for position, document in enumerate(documents):
        if not isinstance(document, LangChainDocument):
            raise KnowledgeError(f"item {position} is a {type(document).__name__}, not a LangChain Document")
        metadata: Mapping[str, Any] = document.metadata or {}
        doc_id = document.id or metadata.get("id")
        if not doc_id:
            doc_id = "lc-" + hashlib.sha256(document.page_content.encode("utf-8")).hexdigest()[:16]
        extra = {k: v for k, v in metadata.items() if k not in {"id", "title", "source"}}
        converted.append(
            Document(
                id=str(doc_id),
                title=str(metadata.get("title") or ""),
                text=document.page_content,
                source=str(metadata.get("source") or ""),
                metadata=extra,
            )
        )
    return converted


def as_langchain_retriever(
    store: KnowledgeStore, top_k: int = 4, filters: Mapping[str, Any] | None = None
) -> LangChainRetriever:
    """A knowledge store as a langchain-core `BaseRetriever` (hybrid retrieval)."""
    return LangChainRetriever(retriever=HybridRetriever(store), top_k=top_k, filters=dict(filters or {}))


def add_langchain_documents(writer: KnowledgeWriter, documents: Iterable[Any], origin: str = "langchain") -> SyncReport:
    """Add or update LangChain `Document`s (id from `Document.id` or metadata "id", else a content hash)."""
    return writer.add_documents(from_langchain(documents), origin)
