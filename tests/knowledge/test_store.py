from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders.hashing import HashEmbedder
from knowledge.errors import IndexCorruptError
from knowledge.store import KnowledgeStore

DOCUMENTS = [Document(f"doc-{i}", f"Topic {i}", f"Article number {i} about subject{i}.") for i in range(5)]


def test_an_empty_folder_is_an_empty_store(tmp_path: Path) -> None:
    store = KnowledgeStore(tmp_path, HashEmbedder())
    assert (store.revision, store.chunk_count, store.vector_count, store.next_row_id) == (None, 0, 0, 1)
    assert store.nearest(HashEmbedder().embed_query("x"), 3) == []


def test_refresh_sees_another_writers_snapshot(tmp_path: Path) -> None:
    reader = KnowledgeStore(tmp_path, HashEmbedder())
    KnowledgeBase(tmp_path, HashEmbedder()).writer.add_documents(DOCUMENTS)
    assert reader.chunk_count == 0
    reader.refresh()
    assert reader.document_ids == [d.id for d in DOCUMENTS]
    assert reader.revision is not None and reader.stats()["snapshot"] == reader.revision
    assert reader.next_row_id == len(DOCUMENTS) + 1


def test_nearest_rows_come_with_their_cosine(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path, HashEmbedder())
    kb.writer.add_documents(DOCUMENTS)
    vector = HashEmbedder().embed_query("subject3")
    [(row, score)] = kb.store.nearest(vector, 1)
    assert kb.store.chunk_rows()[row].document_id == "doc-3"
    assert kb.store.similarities(vector, [row])[row] == pytest.approx(score, abs=1e-5)


def test_corrupt_manifest_is_detected(tmp_path: Path) -> None:
    KnowledgeBase(tmp_path, HashEmbedder()).writer.add_documents(DOCUMENTS)
    snapshot = next(tmp_path.glob("snap-*"))
    (snapshot / "manifest.sqlite").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(IndexCorruptError, match="manifest is unreadable"):
        KnowledgeStore(tmp_path, HashEmbedder())
    with pytest.raises(
        IndexCorruptError, match=f"or a record of what was ingested; delete {tmp_path} and run `deskbot ingest`"
    ):
        KnowledgeBase(tmp_path, HashEmbedder(), load=False).writer.rebuild()
