"""Knowledge jsonl: one `{"id", "title", "text", "source"?, "metadata"?}` object per line; `id` is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from knowledge.documents import Document
from knowledge.errors import LoaderError
from knowledge.loaders.base import json_lines, source_for


class JsonlLoader:
    suffixes: tuple[str, ...] = (".jsonl",)

    def load(self, path: Path, root: Path) -> Iterator[Document]:
        seen: set[str] = set()
        for where, record in json_lines(path):
            doc_id, text = record.get("id"), record.get("text")
            if not isinstance(doc_id, str) or not doc_id:
                raise LoaderError(f"{where}: missing string field 'id'")
            if not isinstance(text, str):
                raise LoaderError(f"{where}: missing string field 'text'")
            if doc_id in seen:
                raise LoaderError(f"{where}: duplicate id '{doc_id}'")
            seen.add(doc_id)
            metadata = record.get("metadata") or {}
            if not isinstance(metadata, dict):
                raise LoaderError(f"{where}: 'metadata' must be an object")
            yield Document(
                id=doc_id,
                title=str(record.get("title") or ""),
                text=text,
                source=str(record.get("source") or source_for(path, root)),
                metadata=metadata,
            )
