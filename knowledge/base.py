"""`KnowledgeBase`: documents in, searchable chunks out, kept in sync with their sources.

`sync(paths)` loads every supported file, re-embeds only documents whose content changed (and, within those, only
chunks whose text is new to the embedding cache), drops documents that vanished from a re-read file, and with
`prune=True` drops documents whose file is gone. Every change is written as a new atomic snapshot.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.chunking import DEFAULT_CHUNK_TOKENS, Chunker
from knowledge.cleaning import clean_text
from knowledge.documents import Chunk, Document, SearchHit
from knowledge.embedders.base import Embedder
from knowledge.errors import IndexCorruptError, KnowledgeError, LoaderError
from knowledge.index import IndexType, VectorIndex
from knowledge.loaders.base import LoaderSet, builtin_loaders
from knowledge.manifest import (
    FORMAT_VERSION,
    DocumentRow,
    apply_changes,
    cached_vectors,
    open_manifest,
    read_chunks,
    read_documents,
    read_facts,
    read_vectors,
    write_facts,
)
from knowledge.snapshots import MANIFEST, VECTORS, SnapshotStore

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total) during long operations."""


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    duplicates: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True)
class _PreparedDocument:
    document: Document
    origin: str
    chunks: list[Chunk]


class KnowledgeBase:
    """A folder holding a FAISS index and its manifest, plus the embedder that built it."""

    def __init__(
        self,
        directory: Path,
        embedder: Embedder,
        loaders: LoaderSet | None = None,
        chunker: Chunker | None = None,
        index_type: IndexType = "flat",
        load: bool = True,
    ) -> None:
        """Open (or create) the knowledge base in `directory`; `load=False` defers reading it (for `rebuild`)."""
        self.directory = directory
        self.embedder = embedder
        self.loaders = loaders or LoaderSet(builtin_loaders())
        self._chunker = chunker
        self._index_type: IndexType = index_type
        self._snapshots = SnapshotStore(directory)
        self._loaded_snapshot: Path | None = None
        self._documents: dict[str, DocumentRow] = {}
        self._chunks: dict[int, Chunk] = {}
        self._text_hashes: dict[int, str] = {}
        self._index: VectorIndex | None = None
        if load:
            self._load()

    # ----- reading -------------------------------------------------------------------------------------------

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            budget = min(DEFAULT_CHUNK_TOKENS, self.embedder.max_tokens)
            self._chunker = Chunker(self.embedder.count_tokens, max_tokens=budget)
        return self._chunker

    @property
    def document_ids(self) -> list[str]:
        return sorted(self._documents)

    @property
    def document_count(self) -> int:
        return len(self._documents)

    @property
    def chunk_count(self) -> int:
        return len(self._chunks)

    def chunks(self) -> list[Chunk]:
        return list(self._chunks.values())

    @property
    def revision(self) -> str | None:
        """The name of the loaded snapshot; it changes whenever the index changes (for caches built on top)."""
        return self._loaded_snapshot.name if self._loaded_snapshot else None

    def chunk_rows(self) -> Mapping[int, Chunk]:
        """Every chunk by its index row id, in row order."""
        return self._chunks

    def dense_candidates(
        self, vector: np.ndarray, depth: int, filters: Mapping[str, Any] | None = None
    ) -> list[tuple[int, float]]:
        """Up to `depth` (row id, cosine) pairs matching `filters`, best first, not grouped by document."""
        if self._index is None or self._index.size == 0 or depth <= 0:
            return []
        fetch = depth if not filters else depth * 4
        while True:
            raw = self._index.search(vector, fetch)
            kept = [(row, score) for row, score in raw if row in self._chunks and matches(self._chunks[row], filters)]
            if len(kept) >= depth or len(raw) < fetch or fetch >= self._index.size:
                return kept[:depth]
            fetch *= 4

    def similarities(self, vector: np.ndarray, row_ids: Sequence[int]) -> dict[int, float]:
        """Cosine similarity of `vector` with the stored vectors of these rows."""
        if self._index is None or not row_ids:
            return {}
        stored = self._index.vectors(np.asarray(row_ids, dtype=np.int64))
        scores = stored @ np.asarray(vector, dtype=np.float32).reshape(-1)
        return {int(row): float(score) for row, score in zip(row_ids, scores, strict=True)}

    def as_langchain_retriever(self, top_k: int = 4, filters: Mapping[str, Any] | None = None) -> Any:
        """This knowledge base as a langchain-core `BaseRetriever` (hybrid retrieval)."""
        from knowledge.hybrid import HybridRetriever
        from knowledge.langchain_interop import LangChainRetriever

        return LangChainRetriever(retriever=HybridRetriever(self), top_k=top_k, filters=dict(filters or {}))

    def document(self, doc_id: str) -> DocumentRow | None:
        return self._documents.get(doc_id)

    def stats(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "documents": self.document_count,
            "chunks": self.chunk_count,
            "embedder": self.embedder.name,
            "index_type": self._index_type,
            "snapshot": self._loaded_snapshot.name if self._loaded_snapshot else None,
        }

    def search(
        self, query: str, top_k: int = 5, filters: Mapping[str, Any] | None = None, per_document: int = 2
    ) -> list[SearchHit]:
        """Dense search: the `top_k` best chunks, at most `per_document` from one document."""
        if self._index is None or self._index.size == 0 or not query.strip():
            return []
        vector = self.embedder.embed_query(query)
        return self.search_by_vector(vector, top_k, filters, per_document)

    def search_by_vector(
        self, vector: np.ndarray, top_k: int, filters: Mapping[str, Any] | None = None, per_document: int = 2
    ) -> list[SearchHit]:
        if self._index is None:
            return []
        hits: list[SearchHit] = []
        per_doc: dict[str, int] = {}
        fetch = top_k * 4
        while True:
            raw = self._index.search(vector, fetch)
            hits, per_doc = [], {}
            for row_id, score in raw:
                chunk = self._chunks.get(row_id)
                if chunk is None or not matches(chunk, filters):
                    continue
                if per_doc.get(chunk.document_id, 0) >= per_document:
                    continue
                per_doc[chunk.document_id] = per_doc.get(chunk.document_id, 0) + 1
                hits.append(SearchHit(chunk, score))
                if len(hits) == top_k:
                    return hits
            if len(raw) < fetch or fetch >= self._index.size:
                return hits
            fetch *= 4

    # ----- writing -------------------------------------------------------------------------------------------

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
        started = time.perf_counter()
        report = SyncReport()
        paths = list(paths)
        with self._snapshots.locked():
            self._load()
            files = list(self.loaders.files_under(paths))
            loaded: dict[str, tuple[Document, str]] = {}
            reread_origins: set[str] = set()
            for number, (path, root) in enumerate(files, start=1):
                if progress:
                    progress("reading", number, len(files))
                origin = str(path.resolve())
                try:
                    documents = self.loaders.load(path, root)
                except LoaderError as error:
                    report.errors.append(str(error))
                    continue
                reread_origins.add(origin)
                for document in documents:
                    if document.id in loaded:
                        report.errors.append(
                            f"{path}: duplicate document id '{document.id}' (also in {loaded[document.id][1]}); skipped"
                        )
                        continue
                    loaded[document.id] = (document, origin)
            if deduplicate:
                self._drop_duplicates(loaded, report)
            removed = self._vanished(loaded, reread_origins, prune, prune_scope)
            self._apply(loaded, removed, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def add_documents(self, documents: Sequence[Document], origin: str = "api") -> SyncReport:
        """Add or update documents given in memory (e.g. LangChain documents)."""
        started = time.perf_counter()
        report = SyncReport()
        with self._snapshots.locked():
            self._load()
            loaded: dict[str, tuple[Document, str]] = {}
            for document in documents:
                if document.id in loaded:
                    raise KnowledgeError(f"duplicate document id '{document.id}' in the batch")
                loaded[document.id] = (document, origin)
            self._apply(loaded, set(), report, None)
        report.seconds = time.perf_counter() - started
        return report

    def add_langchain_documents(self, documents: Iterable[Any], origin: str = "langchain") -> SyncReport:
        """Add or update LangChain `Document`s (id from `Document.id` or metadata "id", else a content hash)."""
        from knowledge.langchain_interop import from_langchain

        return self.add_documents(from_langchain(documents), origin)

    def remove(self, doc_ids: Iterable[str]) -> SyncReport:
        started = time.perf_counter()
        report = SyncReport()
        with self._snapshots.locked():
            self._load()
            wanted = set(doc_ids)
            unknown = sorted(wanted - set(self._documents))
            if unknown:
                raise KnowledgeError(f"no such document: {', '.join(unknown)}")
            self._apply({}, wanted, report, None)
        report.seconds = time.perf_counter() - started
        return report

    def rebuild(self, progress: Progress | None = None) -> SyncReport:
        """Re-embed every stored chunk with the current embedder and write a fresh index."""
        started = time.perf_counter()
        report = SyncReport()
        with self._snapshots.locked():
            current = self._snapshots.current()
            if current is None:
                raise KnowledgeError(f"{self.directory}: nothing to rebuild; ingest documents first")
            try:
                engine = open_manifest(current / MANIFEST)
                documents = read_documents(engine)
                rows = list(read_chunks(engine, documents))
            except Exception as error:
                raise IndexCorruptError(
                    f"{current / MANIFEST}: the manifest is unreadable ({error}); "
                    f"delete {self.directory} and ingest again"
                ) from error
            finally:
                if "engine" in locals():
                    engine.dispose()
            work = self._snapshots.begin(copy_current=False)
            try:
                chunks = [chunk for _, chunk, _ in rows]
                vectors = self._embed([c.embedding_text() for c in chunks], progress)
                report.chunks_embedded = len(chunks)
                new_engine = open_manifest(work / MANIFEST)
                chunk_rows = [
                    self._chunk_row(row_id, chunk, self._text_hash(chunk), vector)
                    for (row_id, chunk, _), vector in zip(rows, vectors, strict=True)
                ]
                apply_changes(new_engine, [], documents.values(), chunk_rows)
                index = VectorIndex(self.embedder.dimension, self._index_type)
                index.add(np.asarray([r[0] for r in rows], dtype=np.int64), vectors)
                index.write(work / VECTORS)
                write_facts(new_engine, self._facts(next_row_id=max((r[0] for r in rows), default=0) + 1))
                new_engine.dispose()
                self._snapshots.commit(work)
            except BaseException:
                self._snapshots.abandon(work)
                raise
            self._loaded_snapshot = None
            self._load()
        report.seconds = time.perf_counter() - started
        return report

    # ----- internals -----------------------------------------------------------------------------------------

    def _facts(self, next_row_id: int) -> dict[str, str]:
        return {
            "format_version": FORMAT_VERSION,
            "embedder": self.embedder.name,
            "dimension": str(self.embedder.dimension),
            "index_type": self._index_type,
            "next_row_id": str(next_row_id),
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def _load(self) -> None:
        """(Re)load the live snapshot if it changed since we last read it."""
        current = self._snapshots.current()
        if current is None:
            self._loaded_snapshot, self._documents, self._chunks, self._text_hashes = None, {}, {}, {}
            self._index = None
            return
        if current == self._loaded_snapshot:
            return
        try:
            engine = open_manifest(current / MANIFEST)
            facts = read_facts(engine)
            documents = read_documents(engine)
            chunks: dict[int, Chunk] = {}
            hashes: dict[int, str] = {}
            for row_id, chunk, text_hash in read_chunks(engine, documents):
                chunks[row_id] = chunk
                hashes[row_id] = text_hash
            engine.dispose()
        except Exception as error:
            raise IndexCorruptError(
                f"{current / MANIFEST}: the manifest is unreadable ({type(error).__name__}); "
                f"delete {self.directory} and ingest again"
            ) from error
        self._check_facts(facts, current)
        self._index_type = facts.get("index_type", self._index_type)  # type: ignore[assignment]
        index = VectorIndex.read(current / VECTORS, int(facts["dimension"]), self._index_type)
        if index.size != len(chunks):
            raise IndexCorruptError(
                f"{current}: index holds {index.size} vectors but the manifest lists {len(chunks)} chunks; "
                "run `deskbot kb rebuild`"
            )
        self._documents, self._chunks, self._text_hashes, self._index = documents, chunks, hashes, index
        self._loaded_snapshot = current

    def _check_facts(self, facts: Mapping[str, str], snapshot: Path) -> None:
        if facts.get("format_version") != FORMAT_VERSION or "dimension" not in facts:
            raise IndexCorruptError(f"{snapshot}: not a Deskbot index (format {facts.get('format_version')})")
        built_with = facts.get("embedder")
        if built_with != self.embedder.name or int(facts["dimension"]) != self.embedder.dimension:
            same_model = str(built_with).partition("@")[0] == self.embedder.name.partition("@")[0]
            hint = " (same model in another precision: or set [knowledge] embedder_precision to match)"
            raise IndexCorruptError(
                f"{self.directory}: index was built with embedder '{built_with}' ({facts['dimension']} dims), "
                f"but the configured embedder is '{self.embedder.name}' ({self.embedder.dimension} dims); "
                f"run `deskbot kb rebuild`{hint if same_model else ''}"
            )

    def _vanished(
        self,
        loaded: Mapping[str, tuple[Document, str]],
        reread: set[str],
        prune: bool,
        scope: Sequence[Path] | None,
    ) -> set[str]:
        scopes = [str(path.resolve()) for path in scope] if scope is not None else None
        removed = set()
        for doc_id, row in self._documents.items():
            if doc_id in loaded:
                continue
            gone = prune and row.origin.startswith("/") and not Path(row.origin).exists()
            in_scope = scopes is None or any(row.origin.startswith(s.rstrip("/") + "/") for s in scopes)
            if row.origin in reread or (gone and in_scope):
                removed.add(doc_id)
        return removed

    @staticmethod
    def _drop_duplicates(loaded: dict[str, tuple[Document, str]], report: SyncReport) -> None:
        from knowledge.deduplication import DuplicateFinder

        for duplicate in DuplicateFinder().find([document for document, _ in loaded.values()]):
            del loaded[duplicate.document_id]
            kind = "exact" if duplicate.exact else "near"
            report.duplicates.append(f"{duplicate.document_id} ({kind} duplicate of {duplicate.kept_id})")

    def _text_hash(self, chunk: Chunk) -> str:
        return hashlib.sha256(f"{self.embedder.name}\0{chunk.embedding_text()}".encode()).hexdigest()

    def _embed(self, texts: Sequence[str], progress: Progress | None) -> np.ndarray:
        """Embed in batches of similar length (little padding), each distinct text once, in the input's order."""
        distinct = sorted(set(texts), key=len)
        batch = 256
        parts = []
        for start in range(0, len(distinct), batch):
            parts.append(self.embedder.embed_documents(distinct[start : start + batch]))
            if progress:
                progress("embedding", min(start + batch, len(distinct)), len(distinct))
        if not parts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        matrix = np.concatenate(parts)
        position = {text: row for row, text in enumerate(distinct)}
        return matrix[[position[text] for text in texts]]

    @staticmethod
    def _chunk_row(row_id: int, chunk: Chunk, text_hash: str, vector: np.ndarray) -> dict[str, Any]:
        return {
            "row_id": row_id,
            "chunk_id": chunk.id,
            "document_id": chunk.document_id,
            "title": chunk.title,
            "section": chunk.section,
            "text": chunk.text,
            "source": chunk.source,
            "text_hash": text_hash,
            "vector": np.asarray(vector, dtype=np.float32).tobytes(),
        }

    def _apply(
        self,
        loaded: Mapping[str, tuple[Document, str]],
        removed: set[str],
        report: SyncReport,
        progress: Progress | None,
    ) -> None:
        changed: list[_PreparedDocument] = []
        for doc_id, (document, origin) in loaded.items():
            existing = self._documents.get(doc_id)
            if existing is not None and existing.content_hash == document.content_hash() and existing.origin == origin:
                report.unchanged += 1
                continue
            chunks = self.chunker.split(
                replace(document, title=clean_text(document.title), text=clean_text(document.text))
            )
            changed.append(_PreparedDocument(document, origin, chunks))
            if existing is None:
                report.added += 1
            else:
                report.updated += 1
        report.removed = len(removed)
        if not changed and not removed:
            return
        replaced = removed | {p.document.id for p in changed if p.document.id in self._documents}
        all_chunks = [chunk for prepared in changed for chunk in prepared.chunks]
        hashes = [self._text_hash(chunk) for chunk in all_chunks]

        work = self._snapshots.begin()
        try:
            engine = open_manifest(work / MANIFEST)
            cache = cached_vectors(engine, hashes)
            missing = [i for i, h in enumerate(hashes) if h not in cache]
            fresh = self._embed([all_chunks[i].embedding_text() for i in missing], progress)
            for position, i in enumerate(missing):
                cache[hashes[i]] = fresh[position]
            report.chunks_embedded = len(missing)
            report.chunks_reused = len(all_chunks) - len(missing)

            facts = read_facts(engine)
            next_row = int(facts.get("next_row_id", "1"))
            row_ids = np.arange(next_row, next_row + len(all_chunks), dtype=np.int64)
            vectors = (
                np.stack([cache[h] for h in hashes]) if hashes else np.zeros((0, self.embedder.dimension), np.float32)
            )
            documents = [
                DocumentRow(
                    id=p.document.id,
                    title=p.document.title,
                    source=p.document.source,
                    origin=p.origin,
                    content_hash=p.document.content_hash(),
                    metadata_json=json.dumps(dict(p.document.metadata), ensure_ascii=False, default=str),
                    chunk_count=len(p.chunks),
                )
                for p in changed
            ]
            chunk_rows = [
                self._chunk_row(int(r), c, h, v)
                for r, c, h, v in zip(row_ids, all_chunks, hashes, vectors, strict=True)
            ]
            apply_changes(engine, replaced, documents, chunk_rows)
            stale_rows = np.asarray(
                [row for row, chunk in self._chunks.items() if chunk.document_id in replaced], dtype=np.int64
            )
            index = self._index or VectorIndex(self.embedder.dimension, self._index_type)
            if index.supports_removal or len(stale_rows) == 0:
                index.remove(stale_rows) if len(stale_rows) else None
                index.add(row_ids, vectors)
            else:
                all_ids, matrix = read_vectors(engine)
                index = VectorIndex(self.embedder.dimension, self._index_type)
                index.add(all_ids, matrix)
            index.write(work / VECTORS)
            write_facts(engine, self._facts(next_row_id=next_row + len(all_chunks)))
            engine.dispose()
            self._snapshots.commit(work)
        except BaseException:
            self._snapshots.abandon(work)
            self._loaded_snapshot = None  # the in-memory index may be half-updated: reload from disk
            self._load()
            raise
        self._loaded_snapshot = None
        self._load()
        log.info("knowledge base %s: %s", self.directory, report)


def matches(chunk: Chunk, filters: Mapping[str, Any] | None) -> bool:
    """True when every filter key equals the chunk's field or metadata value (a list means any of)."""
    if not filters:
        return True
    for key, wanted in filters.items():
        value = getattr(chunk, key) if key in {"document_id", "title", "source", "section"} else chunk.metadata.get(key)
        options = wanted if isinstance(wanted, list | tuple | set) else [wanted]
        if value not in options:
            return False
    return True
