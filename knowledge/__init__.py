"""Deskbot's knowledge layer: documents, loaders, chunking, embedders, the FAISS index and retrieval.

It knows nothing of chat: `bot` builds on it, never the other way round.
"""

from knowledge.base import KnowledgeBase, SyncReport
from knowledge.documents import Chunk, Document, SearchHit
from knowledge.errors import DeskbotError, KnowledgeError

__all__ = ["Chunk", "DeskbotError", "Document", "KnowledgeBase", "KnowledgeError", "SearchHit", "SyncReport"]
