"""Vectors computed as rarely as possible: keyed by a hash of (embedder, text), embedded in batches.

The manifest keeps every chunk's vector under its text hash, so a chunk whose text did not change is never embedded
again (and, in `knowledge.sentence_vectors`, every sentence's under its own); new texts are embedded once each, in
batches of similar length (little padding).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from knowledge.documents import Chunk
from knowledge.embedders.base import Embedder
from knowledge.reports import Progress

BATCH_SIZE = 256


def key_of(embedder: Embedder, text: str) -> str:
    """The embedding cache key of `text` embedded as a document by `embedder`."""
    return hashlib.sha256(f"{embedder.name}\0{text}".encode()).hexdigest()


def text_hash(embedder: Embedder, chunk: Chunk) -> str:
    """The embedding cache key of `chunk`: what is embedded, and by which embedder."""
    return key_of(embedder, chunk.embedding_text())


def embed_texts(
    embedder: Embedder, texts: Sequence[str], progress: Progress | None = None, phase: str = "embedding"
) -> np.ndarray:
    """One vector per text, in the input's order; each distinct text is embedded once (reported as `phase`)."""
    distinct = sorted(set(texts), key=lambda text: (len(text), text))
    parts = []
    for start in range(0, len(distinct), BATCH_SIZE):
        parts.append(embedder.embed_documents(distinct[start : start + BATCH_SIZE]))
        if progress:
            progress(phase, min(start + BATCH_SIZE, len(distinct)), len(distinct))
    if not parts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    matrix = np.concatenate(parts)
    position = {text: row for row, text in enumerate(distinct)}
    return matrix[[position[text] for text in texts]]
