"""PDF files through pypdf: the text of every page; password-protected and damaged files are refused clearly."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from knowledge.documents import Document
from knowledge.errors import LoaderError
from knowledge.loaders.base import document_id_for, file_metadata, source_for

log = logging.getLogger(__name__)


class PdfLoader:
    suffixes: tuple[str, ...] = (".pdf",)

    def load(self, path: Path, root: Path) -> Iterator[Document]:
        try:
            from pypdf import PdfReader
            from pypdf.errors import PdfReadError
        except ImportError as error:
            raise LoaderError(f"{path}: PDF needs pypdf: pip install 'deskbot[loaders]'") from error
        size = path.stat().st_size
        if size == 0:
            raise LoaderError(f"{path}: empty file, not a PDF")
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        try:
            reader = PdfReader(path)
            if reader.is_encrypted and not reader.decrypt(""):
                raise LoaderError(f"{path}: the PDF is password-protected; save an unprotected copy to ingest it")
            pages = [(page.extract_text() or "").strip() for page in reader.pages]
            info_title = (reader.metadata.title if reader.metadata else None) or ""
        except LoaderError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
            raise LoaderError(f"{path}: not a readable PDF ({type(error).__name__}: {error})") from error
        except Exception as error:  # pypdf raises many kinds of errors on damaged files
            if type(error).__name__ in {"DependencyError", "FileNotDecryptedError"}:
                raise LoaderError(f"{path}: the PDF is encrypted in a way that cannot be read ({error})") from error
            raise LoaderError(f"{path}: not a readable PDF ({type(error).__name__})") from error
        text = "\n\n".join(page for page in pages if page)
        if not text:
            raise LoaderError(f"{path}: the PDF has no extractable text (scanned images need OCR first)")
        first_line = text.splitlines()[0].strip()
        title = str(info_title).strip() or (first_line if len(first_line) <= 120 else path.stem)
        yield Document(
            id=document_id_for(path, root),
            title=title,
            text=text,
            source=source_for(path, root),
            metadata={**file_metadata(path), "pages": len(pages)},
        )
