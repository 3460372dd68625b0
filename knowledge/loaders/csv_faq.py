"""FAQ spreadsheets as CSV: one document per row, from a question column and an answer column.

Recognised headers (any case): question / q / title, and answer / a / text / response; an `id` column, when present,
gives the document ids (else `<file>-<row>`). Every other column goes into the document's metadata.

Quoting is read strictly (an unclosed or stray quote is an error naming the line, not a row that swallows the rest of
the file), and a file whose rows all lack a question or an answer is refused rather than read as no documents.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from knowledge.documents import Document
from knowledge.errors import LoaderError
from knowledge.loaders.base import document_id_for, file_metadata, read_text, source_for

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
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter, strict=True)
        try:
            fieldnames = reader.fieldnames or []
        except csv.Error as error:
            raise LoaderError(f"{path}, line 1: malformed CSV header ({error})") from error
        headers = {name.strip().lower(): name for name in fieldnames if name}
        question_column, answer_column = _pick(headers, QUESTION_HEADERS), _pick(headers, ANSWER_HEADERS)
        if question_column is None or answer_column is None:
            found = ", ".join(fieldnames) or "none"
            raise LoaderError(f"{path}: needs a question column and an answer column (found columns: {found})")
        id_column = headers.get("id")
        base_id, metadata = document_id_for(path, root), file_metadata(path)
        seen: set[str] = set()
        rows, row_start = 0, 2
        try:
            for row in reader:
                rows += 1
                line = reader.line_num
                row_start = line + 1
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
                    source=source_for(path, root),
                    metadata={**metadata, **{k: str(v) for k, v in extra.items() if v}, "row": line},
                )
        except csv.Error as error:
            hint = "; is a quote left open?" if "end of data" in str(error) else ""
            raise LoaderError(f"{path}, line {row_start}: malformed CSV ({error}{hint})") from error
        if rows and not seen:
            raise LoaderError(
                f"{path}: none of its {rows} rows has both a question ('{question_column}') and an answer "
                f"('{answer_column}')"
            )
