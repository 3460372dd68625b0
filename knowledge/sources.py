"""What a sync reads: the documents under some paths now, and which stored documents have vanished from them.

A document id belongs to the source (origin) that first indexed it. A file that brings an id some other source still
holds is refused for that document (`refuse_taken_ids`), so one file never silently replaces another's document: the
id passes to a new file only once its old file is gone or, read again in the same run, no longer has it.

Sources that are not files (a website) read themselves: a `DocumentReader` is handed the stored documents and the
report, and returns what it loaded and which stored documents it found gone (`KnowledgeWriter.sync_documents`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.documents import Document
from knowledge.errors import LoaderError
from knowledge.loaders.base import LoaderSet
from knowledge.manifest import DocumentRow
from knowledge.reports import Progress, SyncReport

DocumentReader = Callable[[Mapping[str, DocumentRow], SyncReport], tuple[Mapping[str, tuple[Document, str]], set[str]]]
"""(stored documents by id, report) -> (loaded documents by id with their origin, ids of stored documents gone);
stored documents in neither stay as they are (the reader counts them in `report.unchanged`)."""


@dataclass
class SourceDocuments:
    """Documents by id, each with the origin (resolved file path) it was read from."""

    loaded: dict[str, tuple[Document, str]] = field(default_factory=dict)
    reread_origins: set[str] = field(default_factory=set)
    """Files that were read again in full: a stored document of one of them that was not loaded has vanished."""


def read_sources(
    loaders: LoaderSet, paths: Sequence[Path], report: SyncReport, progress: Progress | None = None
) -> SourceDocuments:
    """Load every supported file under `paths`; unreadable files and repeated ids go to `report.errors`."""
    sources = SourceDocuments()
    files = list(loaders.files_under(paths))
    for number, (path, root) in enumerate(files, start=1):
        if progress:
            progress("reading", number, len(files))
        origin = str(path.resolve())
        try:
            documents = loaders.load(path, root)
        except LoaderError as error:
            report.errors.append(str(error))
            continue
        sources.reread_origins.add(origin)
        for document in documents:
            if document.id in sources.loaded:
                report.errors.append(
                    f"{path}: duplicate document id '{document.id}' (also in {sources.loaded[document.id][1]}); skipped"
                )
                continue
            sources.loaded[document.id] = (document, origin)
    return sources


def refuse_taken_ids(stored: Mapping[str, DocumentRow], sources: SourceDocuments, report: SyncReport) -> None:
    """Leave out loaded documents whose id another source still holds, each listed in `report.errors`."""
    for doc_id, (_document, origin) in list(sources.loaded.items()):
        row = stored.get(doc_id)
        if row is None or row.origin == origin or row.origin in sources.reread_origins or _is_gone(row.origin):
            continue
        del sources.loaded[doc_id]
        report.errors.append(
            f"{origin}: document id '{doc_id}' already belongs to {row.origin}; skipped "
            "(give it another id, or remove it from the other source first)"
        )


def _is_gone(origin: str) -> bool:
    """Whether a file origin no longer exists (other origins, such as documents added through the API, never go)."""
    return origin.startswith("/") and not Path(origin).exists()


def drop_duplicates(sources: SourceDocuments, report: SyncReport) -> None:
    """Leave out exact and near-duplicate documents (the first in file order is kept), listed in the report."""
    from knowledge.deduplication import DuplicateFinder

    for duplicate in DuplicateFinder().find([document for document, _ in sources.loaded.values()]):
        del sources.loaded[duplicate.document_id]
        kind = "exact" if duplicate.exact else "near"
        report.duplicates.append(f"{duplicate.document_id} ({kind} duplicate of {duplicate.kept_id})")


def vanished_documents(
    stored: Mapping[str, DocumentRow], sources: SourceDocuments, prune: bool, scope: Sequence[Path] | None
) -> set[str]:
    """Stored documents that a re-read file no longer holds, and with `prune` those whose file is gone (in `scope`)."""
    scopes = [str(path.resolve()) for path in scope] if scope is not None else None
    removed = set()
    for doc_id, row in stored.items():
        if doc_id in sources.loaded:
            continue
        gone = prune and _is_gone(row.origin)
        in_scope = scopes is None or any(row.origin == s or row.origin.startswith(s.rstrip("/") + "/") for s in scopes)
        if row.origin in sources.reread_origins or (gone and in_scope):
            removed.add(doc_id)
    return removed
