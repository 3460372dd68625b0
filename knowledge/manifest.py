"""The SQLite manifest beside each FAISS index: documents, chunks (with their vectors) and index facts.

Tables are sqlmodel models; bulk reads and writes go through SQLAlchemy core statements for speed. Vectors are kept
here too: they are the embedding cache (a chunk whose text did not change is never embedded again) and let a damaged
FAISS file be rebuilt without touching the sources.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, LargeBinary, Table, delete, event, insert, select, text
from sqlmodel import Column, Field, SQLModel, create_engine

from knowledge.documents import Chunk
from knowledge.errors import IndexCorruptError

FORMAT_VERSION = "1"


class IndexFact(SQLModel, table=True):
    __tablename__ = "index_facts"
    key: str = Field(primary_key=True)
    value: str


class DocumentRow(SQLModel, table=True):
    __tablename__ = "documents"
    id: str = Field(primary_key=True)
    title: str
    source: str
    origin: str = Field(index=True)
    content_hash: str
    metadata_json: str
    chunk_count: int


class ChunkRow(SQLModel, table=True):
    __tablename__ = "chunks"
    row_id: int = Field(primary_key=True)
    chunk_id: str = Field(index=True, unique=True)
    document_id: str = Field(index=True)
    title: str
    section: str
    text: str
    source: str
    text_hash: str = Field(index=True)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


FACTS: Table = IndexFact.__table__  # type: ignore[attr-defined]
DOCUMENTS: Table = DocumentRow.__table__  # type: ignore[attr-defined]
CHUNKS: Table = ChunkRow.__table__  # type: ignore[attr-defined]


def open_manifest(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=DELETE")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    SQLModel.metadata.create_all(engine, tables=[FACTS, DOCUMENTS, CHUNKS])
    return engine


def open_manifest_for_reading(path: Path) -> Engine:
    """The manifest at `path` opened read-only (SQLite `mode=ro`): reading never creates tables, journals or files,
    so a snapshot on a read-only volume can be served."""
    return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")


def read_facts(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return {row.key: row.value for row in connection.execute(select(FACTS))}


def write_facts(engine: Engine, facts: Mapping[str, str]) -> None:
    with engine.begin() as connection:
        connection.execute(delete(FACTS))
        connection.execute(insert(FACTS), [{"key": k, "value": v} for k, v in facts.items()])


def read_documents(engine: Engine) -> dict[str, DocumentRow]:
    with engine.connect() as connection:
        rows = connection.execute(select(DOCUMENTS)).mappings()
        return {row["id"]: DocumentRow(**row) for row in rows}


def read_chunks(engine: Engine, documents: Mapping[str, DocumentRow]) -> Iterator[tuple[int, Chunk, str]]:
    """Yield (row_id, chunk, text_hash) for every chunk, without vectors."""
    columns = [c for c in CHUNKS.columns if c.name != "vector"]
    metadata_by_doc = {doc_id: json.loads(doc.metadata_json) for doc_id, doc in documents.items()}
    with engine.connect() as connection:
        for row in connection.execute(select(*columns).order_by(text("row_id"))).mappings():
            chunk = Chunk(
                id=row["chunk_id"],
                document_id=row["document_id"],
                title=row["title"],
                text=row["text"],
                source=row["source"],
                section=row["section"],
                metadata=metadata_by_doc.get(row["document_id"], {}),
            )
            yield row["row_id"], chunk, row["text_hash"]


@dataclass(frozen=True)
class ManifestContents:
    """A snapshot's manifest without its vectors: index facts, documents by id, chunks by row id in row order."""

    facts: dict[str, str]
    documents: dict[str, DocumentRow]
    chunks: dict[int, Chunk]


@contextlib.contextmanager
def _damage_reported(path: Path) -> Iterator[Engine]:
    """The manifest at `path`, opened; a missing or damaged one is one `IndexCorruptError` with the rebuild hint."""
    if not path.is_file():
        raise IndexCorruptError(f"{path}: the manifest is missing; run `deskbot kb rebuild`")
    try:
        engine = open_manifest_for_reading(path)
        try:
            yield engine
        finally:
            engine.dispose()
    except Exception as error:
        raise IndexCorruptError(
            f"{path}: the manifest is unreadable ({type(error).__name__}); run `deskbot kb rebuild`"
        ) from error


def read_index_facts(path: Path) -> dict[str, str]:
    """Only the index facts of the manifest at `path` (which embedder built it, ...); damage is an error."""
    with _damage_reported(path) as engine:
        return read_facts(engine)


def read_manifest(path: Path) -> ManifestContents:
    """Everything but the vectors of the manifest at `path` (`DIR/snap-N/manifest.sqlite`); damage is an error."""
    with _damage_reported(path) as engine:
        facts = read_facts(engine)
        documents = read_documents(engine)
        chunks = {row_id: chunk for row_id, chunk, _ in read_chunks(engine, documents)}
    return ManifestContents(facts, documents, chunks)


def read_vectors(engine: Engine, row_ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (row_ids, matrix) for the given rows, or all rows when `row_ids` is None."""
    table = CHUNKS
    query = select(table.c.row_id, table.c.vector).order_by(table.c.row_id)
    ids: list[int] = []
    vectors: list[np.ndarray] = []
    wanted = None if row_ids is None else set(row_ids)
    with engine.connect() as connection:
        for row_id, blob in connection.execute(query):
            if wanted is None or row_id in wanted:
                ids.append(row_id)
                vectors.append(np.frombuffer(blob, dtype=np.float32))
    matrix = np.stack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
    return np.asarray(ids, dtype=np.int64), matrix


def cached_vectors(engine: Engine, text_hashes: Iterable[str]) -> dict[str, np.ndarray]:
    """Vectors already computed for chunks with these text hashes (the embedding cache)."""
    table = CHUNKS
    wanted = list(set(text_hashes))
    found: dict[str, np.ndarray] = {}
    with engine.connect() as connection:
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            query = select(table.c.text_hash, table.c.vector).where(table.c.text_hash.in_(batch))
            for text_hash, blob in connection.execute(query):
                found[text_hash] = np.frombuffer(blob, dtype=np.float32)
    return found


def chunk_row(row_id: int, chunk: Chunk, text_hash: str, vector: np.ndarray) -> dict[str, Any]:
    """The `chunks` table row for one chunk, as `apply_changes` inserts it."""
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


def apply_changes(
    engine: Engine,
    removed_documents: Iterable[str],
    added_documents: Iterable[DocumentRow],
    added_chunks: Iterable[dict[str, Any]],
) -> None:
    """Delete the removed documents (and their chunks), insert the new ones, in one transaction."""
    removed = list(removed_documents)
    with engine.begin() as connection:
        for start in range(0, len(removed), 500):
            batch = removed[start : start + 500]
            connection.execute(delete(CHUNKS).where(CHUNKS.c.document_id.in_(batch)))
            connection.execute(delete(DOCUMENTS).where(DOCUMENTS.c.id.in_(batch)))
        documents = [doc.model_dump() for doc in added_documents]
        if documents:
            connection.execute(insert(DOCUMENTS), documents)
        chunks = list(added_chunks)
        if chunks:
            connection.execute(insert(CHUNKS), chunks)
