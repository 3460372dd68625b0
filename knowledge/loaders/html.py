"""HTML pages: the main content (`<main>`, `<article>`, or the body without navigation, headers, footers, sidebars).

Headings become markdown headings so the chunker keeps sections; the `<title>` (or first `<h1>`) is the title.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from knowledge.documents import Document
from knowledge.errors import LoaderError
from knowledge.loaders.base import document_id_for, file_metadata, read_text, source_for

_NOISE_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg")
_NOISE_NAMES = re.compile(r"(^|[-_ ])(nav|navbar|menu|breadcrumbs?|sidebar|footer|cookie|banner|skip)([-_ ]|$)", re.I)
_BLOCKS = ("h1", "h2", "h3", "h4", "p", "li", "pre", "td", "th", "dt", "dd", "blockquote")


def _is_noise(tag: Any) -> bool:
    if tag.get("role") in {"navigation", "banner", "contentinfo", "search"} or tag.get("aria-hidden") == "true":
        return True
    names = " ".join([*(tag.get("class") or []), tag.get("id") or ""])
    return bool(_NOISE_NAMES.search(names))


class HtmlLoader:
    suffixes: tuple[str, ...] = (".html", ".htm")

    def load(self, path: Path, root: Path) -> Iterator[Document]:
        try:
            from bs4 import BeautifulSoup
        except ImportError as error:
            raise LoaderError(f"{path}: HTML needs beautifulsoup4: pip install 'deskbot[loaders]'") from error
        markup = read_text(path)
        if not markup.strip():
            return
        soup: Any = BeautifulSoup(markup, "lxml")
        page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
        for tag in soup.find_all(_NOISE_TAGS):
            tag.decompose()
        for tag in [t for t in soup.find_all(True) if t.attrs is not None and _is_noise(t)]:
            tag.decompose()
        main: Any = soup.find("main") or soup.find("article") or soup.find(None, {"role": "main"}) or soup.body or soup
        lines: list[str] = []
        for block in main.find_all(_BLOCKS):
            if block.find(_BLOCKS):
                continue  # the inner block carries the text
            text = " ".join(block.get_text(" ", strip=True).split())
            if not text:
                continue
            if block.name in {"h1", "h2", "h3", "h4"}:
                lines.append("#" * int(block.name[1]) + " " + text)
            elif block.name == "li":
                lines.append("- " + text)
            else:
                lines.append(text)
        if not lines:
            text = " ".join(main.get_text(" ", strip=True).split())
            lines = [text] if text else []
        if not lines:
            return
        heading = main.find("h1")
        title = page_title or (heading.get_text(" ", strip=True) if heading else "") or path.stem
        if lines[0].startswith("# ") and lines[0][2:] == title:
            lines = lines[1:]
        yield Document(
            id=document_id_for(path, root),
            title=title,
            text="\n\n".join(lines),
            source=source_for(path, root),
            metadata=file_metadata(path),
        )
