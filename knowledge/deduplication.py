"""Exact and near-duplicate documents: the same article exported twice, or copies that differ only in trivia.

Exact duplicates have the same normalised title and text. Near duplicates share at least `threshold` of their word
5-shingles (Jaccard), found with MinHash signatures and banding (locality-sensitive hashing) so that large corpora
are not compared pair by pair. The first document in input order is kept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.documents import Document
from knowledge.text import words

_WORD = re.compile(r"\w+", re.UNICODE)
_PRIME = (1 << 61) - 1
_PERMUTATIONS = 64
_BANDS = 16
_SHINGLE = 5


@dataclass(frozen=True)
class Duplicate:
    document_id: str
    kept_id: str
    exact: bool


def _words(document: Document) -> list[str]:
    return words(f"{document.title}\n{document.text}".lower(), _WORD)


def _shingle_hashes(words: list[str]) -> np.ndarray:
    size = min(_SHINGLE, len(words)) or 1
    shingles = {" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1))}
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=7).digest(), "little") for s in shingles),
        dtype=np.uint64,
        count=len(shingles),
    )


class DuplicateFinder:
    def __init__(self, threshold: float = 0.9, seed: int = 13) -> None:
        rng = np.random.default_rng(seed)
        self.threshold = threshold
        self._a = rng.integers(1, 1 << 31, _PERMUTATIONS, dtype=np.uint64)
        self._b = rng.integers(0, 1 << 31, _PERMUTATIONS, dtype=np.uint64)

    def _signature(self, hashes: np.ndarray) -> np.ndarray:
        # Hashes are reduced to 31 bits so that a*h+b stays inside uint64 without overflow.
        reduced = (hashes & np.uint64((1 << 31) - 1))[:, None]
        signature: np.ndarray = ((reduced * self._a + self._b) % np.uint64(_PRIME)).min(axis=0)
        return signature

    def find(self, documents: Sequence[Document]) -> list[Duplicate]:
        """Every document that duplicates an earlier one, with the id of the one kept."""
        duplicates: list[Duplicate] = []
        exact_seen: dict[str, str] = {}
        shingles: dict[str, set[int]] = {}
        buckets: dict[tuple[int, bytes], list[str]] = {}
        rows = _PERMUTATIONS // _BANDS
        for document in documents:
            words = _words(document)
            exact_key = hashlib.sha256(" ".join(words).encode()).hexdigest()
            if exact_key in exact_seen:
                duplicates.append(Duplicate(document.id, exact_seen[exact_key], exact=True))
                continue
            exact_seen[exact_key] = document.id
            hashes = _shingle_hashes(words)
            own = set(hashes.tolist())
            signature = self._signature(hashes)
            candidates: set[str] = set()
            keys = [(band, signature[band * rows : (band + 1) * rows].tobytes()) for band in range(_BANDS)]
            for key in keys:
                candidates.update(buckets.get(key, ()))
            match = next(
                (
                    other
                    for other in sorted(candidates)
                    if len(own & shingles[other]) / len(own | shingles[other]) >= self.threshold
                ),
                None,
            )
            if match is not None:
                duplicates.append(Duplicate(document.id, match, exact=False))
                continue
            shingles[document.id] = own
            for key in keys:
                buckets.setdefault(key, []).append(document.id)
        return duplicates
