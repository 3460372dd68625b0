"""Sentence vectors kept with each snapshot (knowledge/sentence_vectors.py): written with the chunks, reused, dropped
with their documents, computed lazily for an older snapshot, and never half-written."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedders import HashEmbedder
from knowledge.embedding_cache import key_of
from knowledge.loaders.base import LoaderSet
from knowledge.sentence_vectors import (
    SentenceVectorLookup,
    compared_texts,
    heading_text,
    read_sentence_vectors,
)
from knowledge.snapshots import MANIFEST
from knowledge.store import KnowledgeStore


class CountingEmbedder(HashEmbedder):
    """The hashing embedder, recording every text it embeds as a document; `fail_on` makes it raise on that text."""

    def __init__(self, fail_on: str = "") -> None:
        super().__init__()
        self.embedded: list[str] = []
        self.fail_on = fail_on

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_on and self.fail_on in texts:
            raise RuntimeError("embedder died")
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    write(folder / "returns.md", "# Returns\n\nYou can return any product within 30 days. Refunds take a week.\n")
    write(folder / "shipping.md", "# Shipping\n\nParcels to Germany take 2 to 3 days.\n- Tracking: by e-mail\n")
    return folder


def table_of(store: KnowledgeStore) -> dict[str, np.ndarray]:
    assert store.revision is not None
    return read_sentence_vectors(store.directory / store.revision / MANIFEST)


def expected_texts(store: KnowledgeStore) -> set[str]:
    return {text for chunk in store.chunks() for text in compared_texts(chunk)}


def test_a_sync_keeps_the_vector_of_every_sentence_and_heading_of_its_chunks(
    tmp_path: Path, docs: Path, loaders: LoaderSet
) -> None:
    embedder = CountingEmbedder()
    kb = KnowledgeBase(tmp_path / "index", embedder, loaders)
    report = kb.writer.sync([docs])
    texts = expected_texts(kb.store)
    assert "Refunds take a week." in texts and "- Tracking: by e-mail" in texts and "Returns" in texts
    table = table_of(kb.store)
    assert set(table) == {key_of(embedder, text) for text in texts}
    assert report.sentences_embedded == len(texts)
    for text in texts:
        np.testing.assert_array_equal(table[key_of(embedder, text)], HashEmbedder().embed_documents([text])[0])


def test_only_new_sentences_are_embedded_and_those_of_removed_documents_are_dropped(
    tmp_path: Path, docs: Path, loaders: LoaderSet
) -> None:
    embedder = CountingEmbedder()
    kb = KnowledgeBase(tmp_path / "index", embedder, loaders)
    kb.writer.sync([docs])
    write(docs / "returns.md", "# Returns\n\nYou can return any product within 30 days. Refunds take two weeks.\n")
    embedder.embedded.clear()
    report = kb.writer.sync([docs])
    chunk_texts = {chunk.embedding_text() for chunk in kb.store.chunks()}
    assert [text for text in embedder.embedded if text not in chunk_texts] == ["Refunds take two weeks."]
    assert report.sentences_embedded == 1
    assert key_of(embedder, "Refunds take a week.") not in table_of(kb.store)
    kb.writer.remove(["shipping"])
    assert set(table_of(kb.store)) == {key_of(embedder, text) for text in expected_texts(kb.store)}


def test_a_rebuild_copies_the_vectors_of_the_snapshot_it_rebuilds_from(
    tmp_path: Path, docs: Path, loaders: LoaderSet
) -> None:
    embedder = CountingEmbedder()
    kb = KnowledgeBase(tmp_path / "index", embedder, loaders)
    kb.writer.sync([docs])
    before = table_of(kb.store)
    embedder.embedded.clear()
    report = kb.writer.rebuild()
    assert (report.chunks_embedded, report.sentences_embedded, embedder.embedded) == (0, 0, [])
    after = table_of(kb.store)
    assert set(after) == set(before)
    assert all(np.array_equal(after[key], before[key]) for key in before)


def drop_sentence_vectors(store: KnowledgeStore) -> None:
    """Make the live snapshot look like one written before sentence vectors were kept."""
    assert store.revision is not None
    with sqlite3.connect(store.directory / store.revision / MANIFEST) as connection:
        connection.execute("DROP TABLE sentence_vectors")


def test_an_older_snapshot_has_its_vectors_computed_once_when_asked_and_a_rebuild_adds_them(
    tmp_path: Path, docs: Path, loaders: LoaderSet
) -> None:
    embedder = CountingEmbedder()
    kb = KnowledgeBase(tmp_path / "index", embedder, loaders)
    kb.writer.sync([docs])
    drop_sentence_vectors(kb.store)
    assert table_of(kb.store) == {}
    lookup = SentenceVectorLookup(lambda: kb.store, embedder)
    texts = ["Refunds take a week.", "Returns", "Refunds take a week."]
    embedder.embedded.clear()
    first = lookup.vectors(texts)
    assert embedder.embedded == ["Refunds take a week.", "Returns"]
    np.testing.assert_array_equal(first, HashEmbedder().embed_documents(texts))
    embedder.embedded.clear()
    np.testing.assert_array_equal(lookup.vectors(texts), first)
    assert embedder.embedded == []
    report = kb.writer.rebuild()
    assert report.sentences_embedded == len(expected_texts(kb.store))
    assert set(table_of(kb.store)) == {key_of(embedder, text) for text in expected_texts(kb.store)}


def test_the_lookup_reads_the_snapshot_it_serves_and_follows_a_new_one(
    tmp_path: Path, docs: Path, loaders: LoaderSet
) -> None:
    embedder = CountingEmbedder()
    kb = KnowledgeBase(tmp_path / "index", embedder, loaders)
    kb.writer.sync([docs])
    lookup = SentenceVectorLookup(lambda: kb.store, embedder)
    lookup.warm_up()
    embedder.embedded.clear()
    lookup.vectors(["Refunds take a week.", heading_text(kb.store.chunks()[0])])
    assert embedder.embedded == []
    write(docs / "warranty.md", "# Warranty\n\nEvery device has a two-year warranty.\n")
    kb.writer.sync([docs])
    embedder.embedded.clear()
    lookup.vectors(["Every device has a two-year warranty."])
    assert embedder.embedded == []  # read from the new snapshot's table, not embedded again


def test_without_a_store_the_texts_are_embedded_every_time() -> None:
    embedder = CountingEmbedder()
    lookup = SentenceVectorLookup(lambda: None, embedder)
    lookup.vectors(["One."])
    lookup.vectors(["One."])
    assert embedder.embedded == ["One.", "One."]
    assert lookup.vectors([]).shape == (0, embedder.dimension)


def test_a_sync_that_fails_while_embedding_sentences_leaves_the_previous_snapshot_live(
    tmp_path: Path, docs: Path, loaders: LoaderSet
) -> None:
    embedder = CountingEmbedder()
    kb = KnowledgeBase(tmp_path / "index", embedder, loaders)
    kb.writer.sync([docs])
    live, table = kb.store.revision, table_of(kb.store)
    write(docs / "warranty.md", "# Warranty\n\nEvery device has a two-year warranty.\n")
    embedder.fail_on = "Every device has a two-year warranty."
    with pytest.raises(RuntimeError, match="embedder died"):
        kb.writer.sync([docs])
    reopened = KnowledgeStore(tmp_path / "index", HashEmbedder())
    assert reopened.revision == live and "warranty" not in reopened.document_ids
    assert set(table_of(reopened)) == set(table)
    assert not list((tmp_path / "index").glob(".work-*"))


def test_the_heading_is_title_and_section_else_the_start_of_the_text() -> None:
    from knowledge.documents import Chunk

    assert heading_text(Chunk("a#0", "a", "Returns", "Text.", section="Refunds")) == "Returns - Refunds"
    assert heading_text(Chunk("a#0", "a", "", "x" * 300)) == "x" * 200
    assert compared_texts(Chunk("a#0", "a", "Returns", "One. Two.")) == ["One.", "Two.", "Returns"]
