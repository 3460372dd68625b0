"""Plain-text files: the first non-empty line is the title."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from knowledge.documents import Document
from knowledge.loaders.base import file_document, read_text


class TextLoader:
    suffixes: tuple[str, ...] = (".txt",)

    def load(self, path: Path, root: Path) -> Iterator[Document]:
        text = read_text(path).strip()
        if not text:
            return
        first_line = text.splitlines()[0].strip()
        title = first_line if len(first_line) <= 120 else path.stem
        yield file_document(path, root, title, text)
