"""Markdown articles: the first `# heading` is the title, the path below the ingested folder is the id."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from knowledge.documents import Document
from knowledge.loaders.base import file_document, read_text

_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


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
        yield file_document(path, root, title, text)
