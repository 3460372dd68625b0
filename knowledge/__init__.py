"""Deskbot's knowledge layer: documents, loaders, chunking, embedders, the FAISS index and retrieval.

It knows nothing of chat: `bot` builds on it, never the other way round. Names are imported lazily, so importing
`knowledge.errors` (as the CLI does at start) does not load FAISS.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "KnowledgeBase": "knowledge.base",
    "KnowledgeStore": "knowledge.store",
    "KnowledgeWriter": "knowledge.writer",
    "SyncReport": "knowledge.reports",
    "Chunk": "knowledge.documents",
    "Document": "knowledge.documents",
    "SearchHit": "knowledge.documents",
    "DeskbotError": "knowledge.errors",
    "KnowledgeError": "knowledge.errors",
}

__all__ = [
    "Chunk",
    "DeskbotError",
    "Document",
    "KnowledgeBase",
    "KnowledgeError",
    "KnowledgeStore",
    "KnowledgeWriter",
    "SearchHit",
    "SyncReport",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'knowledge' has no attribute {name!r}")
