"""PDFs with their headings and tables, read from the page layout with pdfplumber (the `office` extra).

A PDF has no heading markup, only text in larger fonts. The most common character size in the file is the body
size; a short line set clearly larger (15% or more) is a heading, and the larger sizes found that way give levels
`#`, `##`, `###` from the largest down, so the chunker cuts sections where the document does. Ruled tables
(pdfplumber's line-based detection) become markdown tables at their place on the page, their first row the header,
and their text is not repeated as loose lines.

When pdfplumber is installed this loader takes `.pdf` files (`priority` 1) from the light default, `PdfLoader`
(pypdf, page text only), which otherwise keeps them. Password-protected and damaged files are refused clearly.
"""

from __future__ import annotations

import importlib.util
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from knowledge.documents import Document
from knowledge.errors import LoaderError
from knowledge.loaders.base import MAX_FILE_BYTES, document_id_for, file_metadata

HEADING_RATIO = 1.15
MAX_HEADING_CHARS = 120
HEADING_LEVELS = 3


def _markdown_table(rows: Sequence[Sequence[str | None]]) -> str:
    cells = [[" ".join((cell or "").split()) for cell in row] for row in rows if any(cell for cell in row)]
    if not cells:
        return ""
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def _inside(line: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    return bool(
        line["x0"] >= x0 - 1 and line["x1"] <= x1 + 1 and line["top"] >= top - 1 and line["bottom"] <= bottom + 1
    )


def _line_size(line: dict[str, Any]) -> float:
    sizes = Counter(round(char["size"], 1) for char in line["chars"] if not char["text"].isspace())
    return sizes.most_common(1)[0][0] if sizes else 0.0


class PdfLayoutLoader:
    suffixes: tuple[str, ...] = (".pdf",)

    @property
    def priority(self) -> int:
        """Above the pypdf loader when pdfplumber is importable, below it otherwise."""
        return 1 if importlib.util.find_spec("pdfplumber") is not None else -1

    def load(self, path: Path, root: Path) -> Iterator[Document]:
        file_size = path.stat().st_size
        if file_size == 0:
            raise LoaderError(f"{path}: empty file, not a PDF")
        if file_size > MAX_FILE_BYTES:
            raise LoaderError(f"{path}: file is {file_size // 2**20} MB, over the {MAX_FILE_BYTES // 2**20} MB limit")
        pages, info_title = self._read(path)
        body_sizes = Counter(size for page in pages for size, _, kind in page if kind == "line" and size)
        base = body_sizes.most_common(1)[0][0] if body_sizes else 0.0
        heading_sizes = sorted(
            {size for page in pages for size, text, kind in page if kind == "line" and _is_heading(size, text, base)},
            reverse=True,
        )
        levels = {size: min(rank, HEADING_LEVELS) for rank, size in enumerate(heading_sizes, start=1)}
        blocks: list[str] = []
        for page in pages:
            for size, text, kind in page:
                if kind == "line" and size in levels and _is_heading(size, text, base):
                    blocks.append("#" * levels[size] + " " + text)
                else:
                    blocks.append(text)
        text = "\n\n".join(_joined(blocks)).strip()
        if not text:
            raise LoaderError(f"{path}: the PDF has no extractable text (scanned images need OCR first)")
        first = text.splitlines()[0]
        title = info_title or (first.lstrip("# ").strip() if first.startswith("# ") else "") or path.stem
        if first.startswith("# ") and first[2:].strip() == title:
            text = text[len(first) :].strip() or text
        yield Document(
            id=document_id_for(path, root),
            title=title,
            text=text,
            source=str(path.resolve()),
            metadata={**file_metadata(path), "pages": len(pages)},
        )

    def _read(self, path: Path) -> tuple[list[list[tuple[float, str, str]]], str]:
        """Per page, (font size, text, "line" or "table") blocks in reading order; and the PDF's Title."""
        try:
            import pdfplumber
        except ImportError as error:
            raise LoaderError(f"{path}: PDF layout needs pdfplumber: pip install 'deskbot[office]'") from error
        logging.getLogger("pdfminer").setLevel(logging.ERROR)
        pages: list[list[tuple[float, str, str]]] = []
        try:
            with pdfplumber.open(path) as pdf:
                info_title = str((pdf.metadata or {}).get("Title") or "").strip()
                for page in pdf.pages:
                    tables = page.find_tables()
                    boxes = [table.bbox for table in tables]
                    items: list[tuple[float, float, str, str]] = [
                        (table.bbox[1], 0.0, _markdown_table(table.extract()), "table") for table in tables
                    ]
                    for line in page.extract_text_lines(return_chars=True):
                        if not any(_inside(line, box) for box in boxes):
                            items.append((line["top"], _line_size(line), " ".join(line["text"].split()), "line"))
                    pages.append([(size, text, kind) for _, size, text, kind in sorted(items) if text])
                    page.close()
        except LoaderError:
            raise
        except Exception as error:  # pdfminer raises many kinds of errors on damaged or encrypted files
            name = type(error).__name__
            causes = " ".join(type(cause).__name__ for cause in (error, *error.args, error.__cause__) if cause)
            if "Password" in causes or "Encrypt" in causes:
                raise LoaderError(
                    f"{path}: the PDF is password-protected; save an unprotected copy to ingest it"
                ) from error
            raise LoaderError(f"{path}: not a readable PDF ({name})") from error
        return pages, info_title


def _is_heading(size: float, text: str, base: float) -> bool:
    return base > 0 and size >= base * HEADING_RATIO and len(text) <= MAX_HEADING_CHARS


def _joined(blocks: list[str]) -> list[str]:
    """Consecutive body lines joined into paragraphs; headings and tables stay blocks of their own."""
    paragraphs: list[str] = []
    current: list[str] = []
    for block in blocks:
        if block.startswith(("#", "|")):
            if current:
                paragraphs.append(" ".join(current))
                current = []
            paragraphs.append(block)
        else:
            current.append(block)
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs
