"""`KnowledgeWriter`: the write side of a knowledge base: sync, add, remove and rebuild, each one atomic snapshot.

`sync(paths)` loads every supported file, re-embeds only documents whose content changed (and, within those, only
chunks whose text is new to the embedding cache), drops documents that vanished from a re-read file, and with
`prune=True` drops documents whose file is gone. Each document's language is detected and recorded in its metadata
(and so its chunks'), where filters and `KnowledgeStore.stats` read it. Every change is written as a new snapshot
under the folder's lock; the store it writes to is reloaded afterwards.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from knowledge.chunking import DEFAULT_CHUNK_TOKENS, Chunker
from knowledge.cleaning import clean_text
from knowledge.documents import Chunk, Document
from knowledge.embedding_cache import embed_texts, text_hash
from knowledge.errors import KnowledgeError
from knowledge.index import VectorIndex
from knowledge.loaders.base import LoaderSet
from knowledge.manifest import (
    FORMAT_VERSION,
    DocumentRow,
    apply_changes,
    cached_vectors,
    chunk_row,
    open_manifest,
    read_manifest,
    read_vectors,
    write_facts,
)
from knowledge.reports import Progress, SyncReport
from knowledge.snapshots import MANIFEST, VECTORS
from knowledge.sources import DocumentReader, drop_duplicates, read_sources, vanished_documents
from knowledge.store import KnowledgeStore
from knowledge.text import language_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _PreparedDocument:
    document: Document
    origin: str
    chunks: list[Chunk]
    metadata: Mapping[str, object]
    """The document's metadata as recorded: its own, plus the detected `language` unless the source gave one."""


def recorded_metadata(document: Document) -> dict[str, object]:
    """`document.metadata` with its `language` ("zh", "en", ... "und"; see `language_of`), detected from its title
    and text unless the source states one. The content hash stays that of the document as loaded."""
    metadata = dict(document.metadata)
    if not str(metadata.get("language") or "").strip():
        metadata["language"] = language_of(f"{document.title}\n{document.text}")
    return metadata


class KnowledgeWriter:
    """Changes a `KnowledgeStore`'s folder; `loaders` read the files that `sync` is given."""

    def __init__(self, store: KnowledgeStore, chunker: Chunker | None = None, loaders: LoaderSet | None = None) -> None:
        self.store = store
        self.loaders = loaders
        self._chunker = chunker

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            embedder = self.store.embedder
            self._chunker = Chunker(embedder.count_tokens, max_tokens=min(DEFAULT_CHUNK_TOKENS, embedder.max_tokens))
        return self._chunker

    def sync(
        self,
        paths: Iterable[Path],
        prune: bool = False,
        progress: Progress | None = None,
        prune_scope: Sequence[Path] | None = None,
        deduplicate: bool = False,
    ) -> SyncReport:
        """Bring the index up to date with the documents under `paths`.

        Documents that vanished from a file that was read again are always removed. With `prune`, documents whose
        file no longer exists are removed too (only those below `prune_scope`, when given). With `deduplicate`,
        exact and near-duplicate documents are left out (the first in file order is kept) and listed in the report.
        """
        if self.loaders is None:
            raise KnowledgeError(
                f"{self.store.directory}: opened without document loaders, so files cannot be synced "
                "(pass a LoaderSet, e.g. the `deskbot.loaders` plugins)"
            )
        started = time.perf_counter()
        report = SyncReport()
        with self.store.snapshots.locked():
            self.store.refresh()
            sources = read_sources(self.loaders, list(paths), report, progress)
            if deduplicate:
                drop_duplicates(sources, report)
            removed = vanished_documents(self.store.documents(), sources, prune, prune_scope)
            self._write(sources.loaded, removed, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def sync_documents(self, read: DocumentReader, progress: Progress | None = None) -> SyncReport:
        """Bring the index up to date with a source that is not files (a website): `read(stored, report)`, called
        under the lock, returns the documents it loaded and the stored ones it found gone."""
        started = time.perf_counter()
        report = SyncReport()
        with self.store.snapshots.locked():
            self.store.refresh()
            loaded, removed = read(self.store.documents(), report)
            self._write(loaded, removed, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def add_documents(self, documents: Sequence[Document], origin: str = "api") -> SyncReport:
        """Add or update documents given in memory (e.g. LangChain documents)."""
        started = time.perf_counter()
        report = SyncReport()
        with self.store.snapshots.locked():
            self.store.refresh()
            loaded: dict[str, tuple[Document, str]] = {}
            for document in documents:
                if document.id in loaded:
                    raise KnowledgeError(f"duplicate document id '{document.id}' in the batch")
                loaded[document.id] = (document, origin)
            self._write(loaded, set(), report, None)
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, doc_ids: Iterable[str]) -> SyncReport:
        started = time.perf_counter()
        report = SyncReport()
        with self.store.snapshots.locked():
            self.store.refresh()
            wanted = set(doc_ids)
            unknown = sorted(wanted - set(self.store.documents()))
            if unknown:
                raise KnowledgeError(f"no such document: {', '.join(unknown)}")
            self._write({}, wanted, report, None)
        report.seconds = time.perf_counter() - started
        return report

    def rebuild(self, progress: Progress | None = None) -> SyncReport:
        """Re-embed every stored chunk with the current embedder and write a fresh index."""
        started = time.perf_counter()
        report = SyncReport()
        store, embedder = self.store, self.store.embedder
        with store.snapshots.locked():
            current = store.snapshots.current()
            if current is None:
                raise KnowledgeError(f"{store.directory}: nothing to rebuild; ingest documents first")
            manifest = read_manifest(current / MANIFEST)
            work = store.snapshots.begin(copy_current=False)
            try:
                row_ids = list(manifest.chunks)
                chunks = list(manifest.chunks.values())
                vectors = embed_texts(embedder, [c.embedding_text() for c in chunks], progress)
                report.chunks_embedded = len(chunks)
                engine = open_manifest(work / MANIFEST)
                chunk_rows = [
                    chunk_row(row_id, chunk, text_hash(embedder, chunk), vector)
                    for row_id, chunk, vector in zip(row_ids, chunks, vectors, strict=True)
                ]
                apply_changes(engine, [], manifest.documents.values(), chunk_rows)
                index = VectorIndex(embedder.dimension, store.index_type)
                index.add(np.asarray(row_ids, dtype=np.int64), vectors)
                index.write(work / VECTORS)
                write_facts(engine, self._facts(next_row_id=max(row_ids, default=0) + 1))
                engine.dispose()
                store.snapshots.commit(work)
            except BaseException:
                store.snapshots.abandon(work)
                raise
            store.refresh(force=True)
        report.seconds = time.perf_counter() - started
        return report

    def _facts(self, next_row_id: int) -> dict[str, str]:
        return {
            "format_version": FORMAT_VERSION,
            "embedder": self.store.embedder.name,
            "dimension": str(self.store.embedder.dimension),
            "index_type": self.store.index_type,
            "next_row_id": str(next_row_id),
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def _prepare(self, loaded: Mapping[str, tuple[Document, str]], report: SyncReport) -> list[_PreparedDocument]:
        """The new and changed documents, cleaned and chunked; counts added, updated and unchanged ones."""
        changed: list[_PreparedDocument] = []
        for doc_id, (document, origin) in loaded.items():
            existing = self.store.document(doc_id)
            if (
                existing is not None
                and existing.content_hash == document.content_hash()
                and existing.origin == origin
                and "language" in json.loads(existing.metadata_json)  # else indexed before languages were recorded
            ):
                report.unchanged += 1
                continue
            metadata = recorded_metadata(document)
            cleaned = replace(
                document, title=clean_text(document.title), text=clean_text(document.text), metadata=metadata
            )
            changed.append(_PreparedDocument(document, origin, self.chunker.split(cleaned), metadata))
            if existing is None:
                report.added += 1
            else:
                report.updated += 1
        return changed

    def _write(
        self,
        loaded: Mapping[str, tuple[Document, str]],
        removed: set[str],
        report: SyncReport,
        progress: Progress | None,
    ) -> None:
        """Write the next snapshot: `loaded` documents added or updated, `removed` ones dropped (lock held)."""
        store, embedder = self.store, self.store.embedder
        changed = self._prepare(loaded, report)
        report.removed = len(removed)
        if not changed and not removed:
            return
        replaced = removed | {p.document.id for p in changed if store.document(p.document.id) is not None}
        all_chunks = [chunk for prepared in changed for chunk in prepared.chunks]
        hashes = [text_hash(embedder, chunk) for chunk in all_chunks]

        work = store.snapshots.begin()
        try:
            engine = open_manifest(work / MANIFEST)
            cache = cached_vectors(engine, hashes)
            missing = [i for i, h in enumerate(hashes) if h not in cache]
            fresh = embed_texts(embedder, [all_chunks[i].embedding_text() for i in missing], progress)
            for position, i in enumerate(missing):
                cache[hashes[i]] = fresh[position]
            report.chunks_embedded = len(missing)
            report.chunks_reused = len(all_chunks) - len(missing)

            next_row = store.next_row_id
            row_ids = np.arange(next_row, next_row + len(all_chunks), dtype=np.int64)
            vectors = np.stack([cache[h] for h in hashes]) if hashes else np.zeros((0, embedder.dimension), np.float32)
            documents = [
                DocumentRow(
                    id=p.document.id,
                    title=p.document.title,
                    source=p.document.source,
                    origin=p.origin,
                    content_hash=p.document.content_hash(),
                    metadata_json=json.dumps(dict(p.metadata), ensure_ascii=False, default=str),
                    chunk_count=len(p.chunks),
                )
                for p in changed
            ]
            chunk_rows = [
                chunk_row(int(r), c, h, v) for r, c, h, v in zip(row_ids, all_chunks, hashes, vectors, strict=True)
            ]
            apply_changes(engine, replaced, documents, chunk_rows)
            stale_rows = np.asarray(
                [row for row, chunk in store.chunk_rows().items() if chunk.document_id in replaced], dtype=np.int64
            )
            index = store.vector_index or VectorIndex(embedder.dimension, store.index_type)
            if index.supports_removal or len(stale_rows) == 0:
                if len(stale_rows):
                    index.remove(stale_rows)
                index.add(row_ids, vectors)
            else:
                all_ids, matrix = read_vectors(engine)
                index = VectorIndex(embedder.dimension, store.index_type)
                index.add(all_ids, matrix)
            index.write(work / VECTORS)
            write_facts(engine, self._facts(next_row_id=next_row + len(all_chunks)))
            engine.dispose()
            store.snapshots.commit(work)
        except BaseException:
            store.snapshots.abandon(work)
            store.refresh(force=True)  # the in-memory index may be half-updated: reload from disk
            raise
        store.refresh(force=True)
        log.info("knowledge base %s: %s", store.directory, report)
