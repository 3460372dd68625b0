from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders.hashing import HashEmbedder
from knowledge.errors import IndexCorruptError
from knowledge.index import IndexType
from knowledge.retrievers.dense import DenseRetriever

DOCUMENTS = [Document(f"doc-{i}", f"Topic {i}", f"Article number {i} about subject{i} and more.") for i in range(40)]


@pytest.mark.parametrize("index_type", ["flat", "hnsw", "ivf"])
def test_every_index_type_searches_removes_and_reloads(tmp_path: Path, index_type: IndexType) -> None:
    kb = KnowledgeBase(tmp_path, HashEmbedder(), index_type=index_type)
    kb.writer.add_documents(DOCUMENTS)
    assert DenseRetriever(kb.store).retrieve("subject7", 1)[0].chunk.document_id == "doc-7"
    kb.writer.remove(["doc-7"])
    reopened = KnowledgeBase(tmp_path, HashEmbedder()).store
    assert reopened.stats()["index_type"] == index_type
    assert reopened.chunk_count == 39
    assert all(hit.chunk.document_id != "doc-7" for hit in DenseRetriever(reopened).retrieve("subject7", 10))
    row = next(iter(reopened.chunk_rows()))
    vector = HashEmbedder().embed_query(reopened.chunk_rows()[row].embedding_text())
    assert reopened.similarities(vector, [row])[row] == pytest.approx(1.0, abs=1e-5)


def test_corrupt_faiss_file_is_detected(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path, HashEmbedder())
    kb.writer.add_documents(DOCUMENTS[:3])
    snapshot = next(tmp_path.glob("snap-*"))
    (snapshot / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="cannot be read"):
        KnowledgeBase(tmp_path, HashEmbedder())


def test_corrupt_manifest_is_detected(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path, HashEmbedder())
    kb.writer.add_documents(DOCUMENTS[:3])
    snapshot = next(tmp_path.glob("snap-*"))
    (snapshot / "manifest.sqlite").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(IndexCorruptError, match="manifest is unreadable"):
        KnowledgeBase(tmp_path, HashEmbedder())


def test_other_embedder_is_detected_and_rebuild_fixes_it(tmp_path: Path) -> None:
    KnowledgeBase(tmp_path, HashEmbedder(256)).writer.add_documents(DOCUMENTS[:3])
    with pytest.raises(IndexCorruptError, match=r"hash-256.*hash-128.*kb rebuild"):
        KnowledgeBase(tmp_path, HashEmbedder(128))
    rebuilt = KnowledgeBase(tmp_path, HashEmbedder(128), load=False)
    rebuilt.writer.rebuild()
    assert KnowledgeBase(tmp_path, HashEmbedder(128)).store.chunk_count == 3
