"""`KnowledgeStore`: the read side of a knowledge base folder, over its live snapshot (manifest + FAISS index).

It holds what the live snapshot lists (documents, chunks by index row) and answers vector queries against it.
`refresh()` re-reads the snapshot when a writer (this process's or another's) has replaced it. Retrievers search
through a store; `KnowledgeWriter` changes it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.documents import Chunk
from knowledge.embedders.base import Embedder
from knowledge.errors import IndexCorruptError
from knowledge.index import IndexType, VectorIndex
from knowledge.manifest import FORMAT_VERSION, DocumentRow, read_manifest
from knowledge.snapshots import MANIFEST, VECTORS, SnapshotStore


class KnowledgeStore:
    """A folder holding a FAISS index and its manifest, read with the embedder that built it."""

    def __init__(self, directory: Path, embedder: Embedder, index_type: IndexType = "flat", load: bool = True) -> None:
        """Open the store in `directory`; `load=False` defers reading it (a rebuild with another embedder)."""
        self.directory = directory
        self.embedder = embedder
        self.snapshots = SnapshotStore(directory)
        self._index_type: IndexType = index_type
        self._loaded_snapshot: Path | None = None
        self._facts: dict[str, str] = {}
        self._documents: dict[str, DocumentRow] = {}
        self._chunks: dict[int, Chunk] = {}
        self._index: VectorIndex | None = None
        if load:
            self.refresh()

    @property
    def index_type(self) -> IndexType:
        return self._index_type

    @property
    def revision(self) -> str | None:
        """The name of the loaded snapshot; it changes whenever the index changes (for caches built on top)."""
        return self._loaded_snapshot.name if self._loaded_snapshot else None

    @property
    def document_ids(self) -> list[str]:
        return sorted(self._documents)

    @property
    def document_count(self) -> int:
        return len(self._documents)

    @property
    def chunk_count(self) -> int:
        return len(self._chunks)

    @property
    def next_row_id(self) -> int:
        """The index row id the next new chunk gets (row ids are never reused)."""
        return int(self._facts.get("next_row_id", "1"))

    def documents(self) -> Mapping[str, DocumentRow]:
        return self._documents

    def document(self, doc_id: str) -> DocumentRow | None:
        return self._documents.get(doc_id)

    def chunks(self) -> list[Chunk]:
        return list(self._chunks.values())

    def chunk_rows(self) -> Mapping[int, Chunk]:
        """Every chunk by its index row id, in row order."""
        return self._chunks

    @property
    def vector_index(self) -> VectorIndex | None:
        """The loaded FAISS index (None before the first write); a writer updates it in place, then reloads."""
        return self._index

    @property
    def vector_count(self) -> int:
        return self._index.size if self._index is not None else 0

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The `k` (row id, cosine) pairs nearest to `vector`, best first, unfiltered."""
        return self._index.search(vector, k) if self._index is not None else []

    def similarities(self, vector: np.ndarray, row_ids: Sequence[int]) -> dict[int, float]:
        """Cosine similarity of `vector` with the stored vectors of these rows."""
        if self._index is None or not row_ids:
            return {}
        stored = self._index.vectors(np.asarray(row_ids, dtype=np.int64))
        scores = stored @ np.asarray(vector, dtype=np.float32).reshape(-1)
        return {int(row): float(score) for row, score in zip(row_ids, scores, strict=True)}

    def languages(self) -> dict[str, int]:
        """Documents per recorded language, most first ("unrecorded": indexed before languages were recorded)."""
        counts = Counter(
            str(json.loads(row.metadata_json).get("language") or "unrecorded") for row in self._documents.values()
        )
        return dict(counts.most_common())

    def stats(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "documents": self.document_count,
            "languages": self.languages(),
            "chunks": self.chunk_count,
            "embedder": self.embedder.name,
            "index_type": self._index_type,
            "snapshot": self.revision,
        }

    def refresh(self, force: bool = False) -> None:
        """(Re)load the live snapshot if it changed since it was last read (always, with `force`)."""
        if force:
            self._loaded_snapshot = None
        current = self.snapshots.current()
        if current is None:
            self._loaded_snapshot, self._facts, self._documents, self._chunks = None, {}, {}, {}
            self._index = None
            return
        if current == self._loaded_snapshot:
            return
        manifest = read_manifest(current / MANIFEST)
        self._check_facts(manifest.facts, current)
        self._index_type = manifest.facts.get("index_type", self._index_type)  # type: ignore[assignment]
        index = VectorIndex.read(current / VECTORS, int(manifest.facts["dimension"]), self._index_type)
        if index.size != len(manifest.chunks):
            raise IndexCorruptError(
                f"{current}: index holds {index.size} vectors but the manifest lists {len(manifest.chunks)} chunks; "
                "run `deskbot kb rebuild`"
            )
        self._facts, self._documents, self._chunks = manifest.facts, manifest.documents, manifest.chunks
        self._index = index
        self._loaded_snapshot = current

    def _check_facts(self, facts: Mapping[str, str], snapshot: Path) -> None:
        if facts.get("format_version") != FORMAT_VERSION or "dimension" not in facts:
            raise IndexCorruptError(
                f"{snapshot}: not a Deskbot index (format {facts.get('format_version')}); run `deskbot kb rebuild`"
            )
        built_with = facts.get("embedder")
        if built_with != self.embedder.name or int(facts["dimension"]) != self.embedder.dimension:
            same_model = str(built_with).partition("@")[0] == self.embedder.name.partition("@")[0]
            hint = " (same model in another precision: or set [knowledge] embedder_precision to match)"
            raise IndexCorruptError(
                f"{self.directory}: index was built with embedder '{built_with}' ({facts['dimension']} dims), "
                f"but the configured embedder is '{self.embedder.name}' ({self.embedder.dimension} dims); "
                f"run `deskbot kb rebuild`{hint if same_model else ''}"
            )
