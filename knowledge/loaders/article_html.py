"""`article_markdown`: the HTML body of a help-desk article (a fragment, not a page) as markdown.

Help-desk APIs hand out an article's body as sanitised HTML without page chrome, so nothing needs to be cut away;
it only needs its structure kept: `<h1>`..`<h6>` become `#` lines (at most `###`, the chunker's depth), paragraphs
and list items their own lines, and tables markdown tables whose first row is the header. BeautifulSoup (the
`loaders` extra) parses it; main-content extractors such as trafilatura drop short fragments and their headings.
"""

from __future__ import annotations

from typing import Any

from knowledge.errors import LoaderError

_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "table", "dt", "dd")


def _text(tag: Any) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())


def _table(tag: Any) -> str:
    rows = [[_text(cell) for cell in row.find_all(["th", "td"])] for row in tag.find_all("tr")]
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows[1:]])


def article_markdown(html: str) -> str:
    try:
        from bs4 import BeautifulSoup
    except ImportError as error:
        raise LoaderError("help-desk articles need beautifulsoup4: pip install 'deskbot[loaders]'") from error
    soup: Any = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(["script", "style", "iframe", "svg"]):
        tag.decompose()
    blocks: list[str] = []
    for block in soup.find_all(_BLOCKS):
        if block.find_parent("table") is not None:
            continue  # a table is written whole
        if block.name != "table" and block.find(_BLOCKS):
            continue  # the inner block carries the text
        if block.name == "table":
            blocks.append(_table(block))
            continue
        text = _text(block)
        if not text:
            continue
        if block.name[0] == "h":
            blocks.append("#" * min(int(block.name[1]), 3) + " " + text)
        elif block.name == "li":
            blocks.append("- " + text)
        else:
            blocks.append(text)
    if not blocks:
        return _text(soup)
    return "\n\n".join(block for block in blocks if block)
