"""Metadata filters: which chunks a search may return."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from knowledge.documents import Chunk

Filters = Mapping[str, Any]
"""Field or metadata key -> wanted value (a list, tuple or set means any of them)."""

_CHUNK_FIELDS = frozenset({"document_id", "title", "source", "section"})


def matches(chunk: Chunk, filters: Filters | None) -> bool:
    """True when every filter key equals the chunk's field or metadata value (a list means any of); a list-valued
    metadata field (an article's `labels`) matches when any of its items does."""
    if not filters:
        return True
    for key, wanted in filters.items():
        value = getattr(chunk, key) if key in _CHUNK_FIELDS else chunk.metadata.get(key)
        options = wanted if isinstance(wanted, list | tuple | set) else [wanted]
        if isinstance(value, list | tuple):  # a list-valued field (labels) matches when it holds any wanted value
            if not any(item in options for item in value):
                return False
        elif value not in options:
            return False
    return True
