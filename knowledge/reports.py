"""What a write to the knowledge base reports back, and how long operations report their progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total) during long operations."""


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    sentences_embedded: int = 0
    """Sentences and headings embedded for composed answers (`knowledge.sentence_vectors`)."""
    duplicates: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass
class RebuildReport:
    """What `KnowledgeWriter.rebuild` read and wrote."""

    rebuilt_from: str
    """The snapshot folder whose manifest was read, or the documents folders that were read again."""
    documents: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    """Chunks whose vector the manifest already held for the configured embedder (the embedding cache)."""
    sentences_embedded: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
