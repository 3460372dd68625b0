"""FAQ spreadsheets as CSV: one document per row, from a question column and an answer column.

Recognised headers (any case): question / q / title, and answer / a / text / response; an `id` column, when present,
gives the document ids (else `<file>-<row>`). Every other column goes into the document's metadata.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from knowledge.documents import Document
from knowledge.errors import LoaderError
from knowledge.loaders.base import document_id_for, file_metadata, read_text

QUESTION_HEADERS = ("question", "q", "title", "faq")
ANSWER_HEADERS = ("answer", "a", "text", "response")


def _pick(headers: dict[str, str], wanted: tuple[str, ...]) -> str | None:
    return next((headers[name] for name in wanted if name in headers), None)


class CsvFaqLoader:
    suffixes: tuple[str, ...] = (".csv",)

    def load(self, path: Path, root: Path) -> Iterator[Document]:
        text = read_text(path)
        if not text.strip():
            return
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel  # type: ignore[assignment]
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        headers = {name.strip().lower(): name for name in reader.fieldnames or [] if name}
        question_column, answer_column = _pick(headers, QUESTION_HEADERS), _pick(headers, ANSWER_HEADERS)
        if question_column is None or answer_column is None:
            found = ", ".join(reader.fieldnames or []) or "none"
            raise LoaderError(f"{path}: needs a question column and an answer column (found columns: {found})")
        id_column = headers.get("id")
        base_id, metadata = document_id_for(path, root), file_metadata(path)
        seen: set[str] = set()
        try:
            for row in reader:
                line = reader.line_num
                question = (row.get(question_column) or "").strip()
                answer = (row.get(answer_column) or "").strip()
                if not question or not answer:
                    continue
                doc_id = (row.get(id_column) or "").strip() if id_column else ""
                doc_id = doc_id or f"{base_id}-{line}"
                if doc_id in seen:
                    raise LoaderError(f"{path}, line {line}: duplicate id '{doc_id}'")
                seen.add(doc_id)
                extra = {
                    key: value for key, value in row.items() if key and key not in {question_column, answer_column}
                }
                yield Document(
                    id=doc_id,
                    title=question,
                    text=answer,
                    source=str(path.resolve()),
                    metadata={**metadata, **{k: str(v) for k, v in extra.items() if v}, "row": line},
                )
        except csv.Error as error:
            raise LoaderError(f"{path}, line {reader.line_num}: malformed CSV ({error})") from error
