"""`KnowledgeBase`: the parts of one knowledge base folder, put together.

`store` (a `KnowledgeStore`) reads the live snapshot; `writer` (a `KnowledgeWriter`) syncs, adds, removes and
rebuilds. Retrievers (`knowledge.retrievers`) search over `store`. The loaders that `writer.sync` reads files with
come from the caller (Deskbot's `bot` layer builds them from the `deskbot.loaders` plugins).
"""

from __future__ import annotations

from pathlib import Path

from knowledge.chunking import Chunker
from knowledge.embedders.base import Embedder
from knowledge.index import IndexType
from knowledge.loaders.base import LoaderSet
from knowledge.store import KnowledgeStore
from knowledge.writer import DEFAULT_MAX_DOCUMENT_CHUNKS, KnowledgeWriter


class KnowledgeBase:
    """A folder holding a FAISS index and its manifest: its read side and its write side."""

    def __init__(
        self,
        directory: Path,
        embedder: Embedder,
        loaders: LoaderSet | None = None,
        chunker: Chunker | None = None,
        index_type: IndexType = "flat",
        load: bool = True,
        max_document_chunks: int = DEFAULT_MAX_DOCUMENT_CHUNKS,
    ) -> None:
        """Open (or create) the knowledge base in `directory`; `load=False` defers reading it (for `rebuild`)."""
        self.directory = directory
        self.store = KnowledgeStore(directory, embedder, index_type, load=load)
        self.writer = KnowledgeWriter(self.store, chunker, loaders, max_document_chunks)
