"""Markdown articles: the first `# heading` is the title, the path below the ingested folder is the id."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from knowledge.documents import Document
from knowledge.loaders.base import document_id_for, read_text

_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def file_metadata(path: Path) -> dict[str, str]:
    modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat(timespec="seconds")
    return {"modified": modified, "format": path.suffix.lower().lstrip(".")}


class MarkdownLoader:
    suffixes: tuple[str, ...] = (".md", ".markdown")

    def load(self, path: Path, root: Path) -> Iterator[Document]:
        text = read_text(path).strip()
        if not text:
            return
        match = _TITLE.search(text)
        title = match.group(1) if match else path.stem.replace("-", " ").replace("_", " ").capitalize()
        if match and match.start() == 0:
            text = text[match.end() :].lstrip()
        yield Document(
            id=document_id_for(path, root),
            title=title,
            text=text,
            source=str(path.resolve()),
            metadata=file_metadata(path),
        )
