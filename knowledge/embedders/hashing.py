"""`HashEmbedder`: a fast, deterministic bag-of-words embedder for tests and tiny deployments.

Words (and word bigrams) are hashed into a fixed number of buckets; texts sharing words get similar vectors.
It needs no model weights and no torch.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence

import numpy as np

from knowledge.embedders.base import Vectors, normalise
from knowledge.text import words

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "my",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


class HashEmbedder:
    def __init__(self, dimension: int = 256, model: str = "") -> None:
        """`model` may name the size as `hash-<dimension>` (how the plugin registry passes it)."""
        if model.startswith("hash-") and model[5:].isdigit():
            dimension = int(model[5:])
        self._dimension = dimension

    @property
    def name(self) -> str:
        return f"hash-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return 256

    def count_tokens(self, text: str) -> int:
        return len(words(text, _WORD))

    def _bucket(self, feature: str) -> int:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "little") % self._dimension

    def _embed(self, text: str) -> np.ndarray:
        vector = np.zeros(self._dimension, dtype=np.float32)
        tokens = [word for word in (w.lower() for w in words(text, _WORD)) if word not in _STOPWORDS]
        for word in tokens:
            vector[self._bucket(word)] += 1.0
        for first, second in itertools.pairwise(tokens):
            vector[self._bucket(f"{first} {second}")] += 0.5
        return vector

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return normalise(np.stack([self._embed(text) for text in texts]))

    def embed_query(self, text: str) -> Vectors:
        vectors: Vectors = self.embed_documents([text])[0]
        return vectors
