"""`KnowledgeWriter`: the write side of a knowledge base: sync, add, remove and rebuild, each one atomic snapshot.

`sync(paths)` loads every supported file, re-embeds only documents whose content changed (and, within those, only
chunks whose text is new to the embedding cache), drops documents that vanished from a re-read file, and with
`prune=True` drops documents whose file is gone. Each document's language is detected and recorded in its metadata
(and so its chunks'), where filters and `KnowledgeStore.stats` read it. Every change is written as a new snapshot
under the folder's lock; the store it writes to is reloaded afterwards.

A sync refuses, each with a line in its report, a document whose id another source still holds
(`sources.refuse_taken_ids`) and a document of more than `max_document_chunks` chunks. `rebuild` is also the repair
of a damaged index: it writes a fresh snapshot from the newest intact manifest, else from what was ingested.

Every snapshot written also holds the vectors of its chunks' sentences and headings (`knowledge.sentence_vectors`),
for composed answers: only texts no earlier snapshot embedded are embedded, so the first write after an older
version (whose snapshots lack them) embeds the sentences of every chunk once.
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
from knowledge.errors import IndexCorruptError, KnowledgeError
from knowledge.index import VectorIndex
from knowledge.loaders.base import LoaderSet
from knowledge.manifest import (
    FORMAT_VERSION,
    DocumentRow,
    ManifestContents,
    apply_changes,
    cached_vectors,
    chunk_row,
    open_manifest,
    read_manifest,
    read_vectors,
    write_facts,
)
from knowledge.reports import Progress, RebuildReport, SyncReport
from knowledge.sentence_vectors import store_sentence_vectors
from knowledge.snapshots import MANIFEST, VECTORS, record_ingested
from knowledge.sources import (
    DocumentReader,
    SourceDocuments,
    drop_duplicates,
    read_sources,
    refuse_taken_ids,
    vanished_documents,
)
from knowledge.store import KnowledgeStore
from knowledge.text import language_of

log = logging.getLogger(__name__)

DEFAULT_MAX_DOCUMENT_CHUNKS = 1000
"""`[knowledge] max_document_chunks`'s default: about 200,000 embedder tokens, a long manual; a document longer than
this would take a share of every search's candidates out of all proportion, so it is refused (split it)."""


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

    def __init__(
        self,
        store: KnowledgeStore,
        chunker: Chunker | None = None,
        loaders: LoaderSet | None = None,
        max_document_chunks: int = DEFAULT_MAX_DOCUMENT_CHUNKS,
    ) -> None:
        self.store = store
        self.loaders = loaders
        self.max_document_chunks = max_document_chunks
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
        paths = list(paths)
        started = time.perf_counter()
        report = SyncReport()
        with self.store.snapshots.locked():
            self.store.refresh()
            sources = read_sources(self.loaders, paths, report, progress)
            refuse_taken_ids(self.store.documents(), sources, report)
            if deduplicate:
                drop_duplicates(sources, report)
            removed = vanished_documents(self.store.documents(), sources, prune, prune_scope)
            self._write(sources.loaded, removed, report, progress, ingested=paths)
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
            sources = SourceDocuments(dict(loaded))
            refuse_taken_ids(self.store.documents(), sources, report)
            self._write(sources.loaded, removed, report, progress)
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

    def rebuild(self, progress: Progress | None = None, sources: Sequence[Path] = ()) -> RebuildReport:
        """Write a fresh index with the configured embedder from the newest intact manifest on disk.

        The snapshot `CURRENT` names comes first, then the others, newest first, so a damaged pointer or a damaged
        FAISS file never stops a rebuild. Chunks keep the vectors the manifest holds for this embedder (the
        embedding cache); only the rest are embedded. With no intact manifest left, the damaged snapshots are removed
        and `sources` (the documents folder) and the paths earlier syncs recorded (`ingested.txt`) are read again;
        with none of them, the error names what to delete.
        """
        started = time.perf_counter()
        store = self.store
        missing: list[str] = []
        with store.snapshots.locked():
            intact = self._intact_manifest()
            if intact is not None:
                report = self._rebuild_from(*intact, progress)
            else:
                sources, missing = self._paths_to_read_again(sources)
                store.snapshots.discard()
        if intact is None:
            synced = self.sync(sources, progress=progress)
            report = RebuildReport(
                rebuilt_from=", ".join(str(path) for path in sources),
                documents=synced.added,
                chunks_embedded=synced.chunks_embedded,
                chunks_reused=synced.chunks_reused,
                sentences_embedded=synced.sentences_embedded,
                errors=[*missing, *synced.errors],
            )
        report.seconds = time.perf_counter() - started
        return report

    def _paths_to_read_again(self, sources: Sequence[Path]) -> tuple[list[Path], list[str]]:
        """`sources` and the recorded paths that still exist, with a line for each recorded one that is gone; an
        error when there is nothing to read."""
        store = self.store
        given = {path.resolve() for path in sources}
        recorded = [path for path in store.snapshots.ingested_paths() if path not in given]
        paths = [*sources, *(path for path in recorded if path.exists())]
        gone = [f"{path}: ingested before but gone; not rebuilt" for path in recorded if not path.exists()]
        if not paths and not store.snapshots.snapshot_folders():
            raise KnowledgeError(f"{store.directory}: nothing to rebuild; ingest documents first")
        if not paths:
            raise IndexCorruptError(
                f"{store.directory}: no snapshot has a readable manifest or a record of what was ingested; "
                f"delete {store.directory} and run `deskbot ingest` on the documents again"
            )
        log.warning("%s: no snapshot has a readable manifest; reading %s again", store.directory, paths)
        return paths, gone

    def _intact_manifest(self) -> tuple[Path, ManifestContents] | None:
        """The newest recoverable snapshot's manifest (its folder and contents), or None when every one is damaged."""
        for snapshot in self.store.snapshots.recovery_candidates():
            try:
                manifest = read_manifest(snapshot / MANIFEST)
            except IndexCorruptError as error:
                log.info("rebuild: %s skipped (%s)", snapshot.name, error.__cause__ or error)
                continue
            if manifest.facts.get("format_version") == FORMAT_VERSION:
                return snapshot, manifest
            log.info("rebuild: %s skipped (format %s)", snapshot.name, manifest.facts.get("format_version"))
        return None

    def _rebuild_from(self, snapshot: Path, manifest: ManifestContents, progress: Progress | None) -> RebuildReport:
        store, embedder = self.store, self.store.embedder
        report = RebuildReport(rebuilt_from=str(snapshot), documents=len(manifest.documents))
        row_ids = list(manifest.chunks)
        chunks = list(manifest.chunks.values())
        hashes = [text_hash(embedder, chunk) for chunk in chunks]
        source = open_manifest(snapshot / MANIFEST)
        try:
            cache = cached_vectors(source, hashes)
        finally:
            source.dispose()
        cache = {key: vector for key, vector in cache.items() if vector.shape == (embedder.dimension,)}
        missing = [i for i, key in enumerate(hashes) if key not in cache]
        fresh = embed_texts(embedder, [chunks[i].embedding_text() for i in missing], progress)
        for position, i in enumerate(missing):
            cache[hashes[i]] = fresh[position]
        report.chunks_embedded, report.chunks_reused = len(missing), len(chunks) - len(missing)
        vectors = np.stack([cache[key] for key in hashes]) if hashes else np.zeros((0, embedder.dimension), np.float32)
        work = store.snapshots.begin(copy_current=False)
        try:
            record_ingested(work, store.snapshots.ingested_paths())
            engine = open_manifest(work / MANIFEST)
            chunk_rows = [
                chunk_row(row_id, chunk, key, vector)
                for row_id, chunk, key, vector in zip(row_ids, chunks, hashes, vectors, strict=True)
            ]
            apply_changes(engine, [], manifest.documents.values(), chunk_rows)
            report.sentences_embedded = store_sentence_vectors(
                engine, embedder, chunks, progress, previous=snapshot / MANIFEST
            )
            index = VectorIndex(embedder.dimension, store.index_type)
            index.add(np.asarray(row_ids, dtype=np.int64), vectors)
            index.write(work / VECTORS)
            next_row_id = max(int(manifest.facts.get("next_row_id", "1")), max(row_ids, default=0) + 1)
            write_facts(engine, self._facts(next_row_id=next_row_id))
            engine.dispose()
            store.snapshots.commit(work)
        except BaseException:
            store.snapshots.abandon(work)
            raise
        store.refresh(force=True)
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
            chunks = self.chunker.split(cleaned)
            if len(chunks) > self.max_document_chunks:
                report.errors.append(
                    f"{origin}: document '{doc_id}' is {len(chunks)} chunks, over the limit of "
                    f"{self.max_document_chunks}; skipped (split it, or raise [knowledge] max_document_chunks)"
                )
                continue
            changed.append(_PreparedDocument(document, origin, chunks, metadata))
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
        ingested: Sequence[Path] = (),
    ) -> None:
        """Write the next snapshot: `loaded` documents added or updated, `removed` ones dropped, `ingested` (the
        paths a sync read) added to the snapshot's record of them (lock held)."""
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
            record_ingested(work, ingested)
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
            kept = [chunk for chunk in store.chunk_rows().values() if chunk.document_id not in replaced]
            report.sentences_embedded = store_sentence_vectors(engine, embedder, [*kept, *all_chunks], progress)
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
