"""Word, PowerPoint and Excel files (docx, pptx, xlsx), with their headings as sections and tables kept readable.

docx and pptx go through markitdown's converters (the `office` extra): Word headings become `#` lines, Word tables
markdown tables (a table without a marked header row gets its first row as header), and every slide a `# title`
section. xlsx is read with openpyxl in read-only mode: each sheet is a `## sheet` section and each row one line of
`column: value` pairs, so any chunk of a long sheet still says what its numbers are. A workbook is read to
`MAX_SHEET_ROWS` rows at most; a longer sheet is cut there with a warning naming the sheet and both counts.

Files are checked before conversion: an encrypted (password-protected) file is an OLE container, not a zip, and is
refused as such; a file that is not a valid zip is refused as damaged. markitdown's own fallback to reading any
file as plain text is never used, so a damaged file never becomes a document of binary noise.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from knowledge.documents import Document
from knowledge.errors import LoaderError
from knowledge.loaders.base import MAX_FILE_BYTES, document_id_for, file_metadata

log = logging.getLogger(__name__)

MAX_SHEET_ROWS = 5000
"""Rows read from one workbook, all sheets together."""

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SLIDE_MARKER = re.compile(r"^<!-- Slide number: \d+ -->\s*$", re.MULTILINE)
_HEADERLESS_TABLE = re.compile(r"^(\|(?:\s*\|)+)\n(\|(?:\s*---\s*\|)+)\n(\|.*\|)$", re.MULTILINE)


def check_office_file(path: Path) -> None:
    """Refuse empty, oversized, password-protected and damaged office files with one clear line."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise LoaderError(f"{path}: cannot read ({error.strerror})") from error
    if size == 0:
        raise LoaderError(f"{path}: empty file")
    if size > MAX_FILE_BYTES:
        raise LoaderError(f"{path}: file is {size // 2**20} MB, over the {MAX_FILE_BYTES // 2**20} MB limit")
    if head == OLE_MAGIC:
        raise LoaderError(
            f"{path}: the file is password-protected (or an old binary Office format); "
            "save an unprotected .docx/.pptx/.xlsx copy to ingest it"
        )
    if not zipfile.is_zipfile(path):
        raise LoaderError(f"{path}: damaged file: not a valid {path.suffix.lstrip('.')} (not a zip archive)")


def core_title(path: Path) -> str:
    """The title in the file's document properties (docProps/core.xml), or ""."""
    try:
        with zipfile.ZipFile(path) as archive:
            root = ElementTree.fromstring(archive.read("docProps/core.xml"))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return ""
    for element in root:
        if element.tag.rpartition("}")[2] == "title" and element.text:
            return element.text.strip()
    return ""


def _converted(path: Path) -> str:
    try:
        from markitdown import StreamInfo
        from markitdown.converters import DocxConverter, PptxConverter
    except ImportError as error:
        raise LoaderError(f"{path}: {path.suffix} files need markitdown: pip install 'deskbot[office]'") from error
    converter_class: Any = DocxConverter if path.suffix.lower() == ".docx" else PptxConverter
    converter = converter_class()
    try:
        with path.open("rb") as handle:
            result = converter.convert(handle, StreamInfo(extension=path.suffix.lower(), filename=path.name))
    except Exception as error:  # the converters raise whatever their parsers raise on damaged files
        raise LoaderError(f"{path}: damaged file: cannot be read ({type(error).__name__}: {error})") from error
    text = _SLIDE_MARKER.sub("", result.markdown)
    return _HEADERLESS_TABLE.sub(lambda match: f"{match.group(3)}\n{match.group(2)}", text)


def sheet_text(path: Path, max_rows: int = MAX_SHEET_ROWS) -> tuple[str, dict[str, Any]]:
    """The workbook as markdown (a section per sheet, a line per row) and what was read of it."""
    try:
        import openpyxl
    except ImportError as error:
        raise LoaderError(f"{path}: .xlsx files need openpyxl: pip install 'deskbot[office]'") from error
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises KeyError, ValueError, InvalidFileException... on damaged files
        raise LoaderError(f"{path}: damaged file: cannot be read ({type(error).__name__}: {error})") from error
    sections: list[str] = []
    rows_read = 0
    try:
        for sheet in workbook.worksheets:
            lines: list[str] = []
            header: list[str] | None = None
            for values in sheet.iter_rows(values_only=True):
                cells = ["" if value is None else str(value).strip() for value in values]
                if not any(cells):
                    continue
                if header is None:
                    header = [cell or f"column {number}" for number, cell in enumerate(cells, start=1)]
                    continue
                if rows_read >= max_rows:
                    size = f" (its dimension says {sheet.max_row})" if sheet.max_row else ""
                    log.warning(
                        "%s: sheet '%s' goes past the %d-row bound%s; only the first %d rows are indexed",
                        path,
                        sheet.title,
                        max_rows,
                        size,
                        max_rows,
                    )
                    break
                rows_read += 1
                pairs = [f"{name}: {cell}" for name, cell in zip(header, cells, strict=False) if cell]
                lines.append("; ".join(pairs))
            if lines:
                sections.append(f"## {sheet.title}\n\n" + "\n".join(lines))
            if rows_read >= max_rows:
                break
    finally:
        workbook.close()
    return "\n\n".join(sections), {"sheets": len(workbook.sheetnames), "rows": rows_read}


class OfficeLoader:
    suffixes: tuple[str, ...] = (".docx", ".pptx", ".xlsx")

    def load(self, path: Path, root: Path) -> Iterator[Document]:
        check_office_file(path)
        extra: dict[str, Any] = {}
        if path.suffix.lower() == ".xlsx":
            text, extra = sheet_text(path)
        else:
            text = _converted(path)
        text = text.strip()
        if not text:
            raise LoaderError(f"{path}: the file has no text")
        title = core_title(path)
        first_line = text.splitlines()[0].strip()
        if not title and first_line.startswith("# "):
            title = first_line[2:].strip()
        if title and first_line.lstrip("# ").strip() == title:
            text = text[len(first_line) :].strip() or text
        yield Document(
            id=document_id_for(path, root),
            title=title or path.stem.replace("-", " ").replace("_", " "),
            text=text,
            source=str(path.resolve()),
            metadata={**file_metadata(path), **extra},
        )
