"""Metadata filters: which chunks a search may return."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from knowledge.documents import Chunk

Filters = Mapping[str, Any]
"""Field or metadata key -> wanted value (a list, tuple or set means any of them)."""

_CHUNK_FIELDS = frozenset({"document_id", "title", "source", "section"})


def matches(chunk: Chunk, filters: Filters | None) -> bool:
    """True when every filter key equals the chunk's field or metadata value (a list means any of)."""
    if not filters:
        return True
    for key, wanted in filters.items():
        value = getattr(chunk, key) if key in _CHUNK_FIELDS else chunk.metadata.get(key)
        options = wanted if isinstance(wanted, list | tuple | set) else [wanted]
        if value not in options:
            return False
    return True
