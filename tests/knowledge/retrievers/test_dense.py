from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders.hashing import HashEmbedder
from knowledge.retrievers.dense import DenseRetriever


def test_one_document_does_not_fill_every_slot(knowledge: KnowledgeBase) -> None:
    hits = DenseRetriever(knowledge.store, per_document=1).retrieve("password policy rules", 3)
    ids = [hit.chunk.document_id for hit in hits]
    assert len(ids) == len(set(ids)) == 3


def test_candidates_are_best_first_and_may_be_grouped(knowledge: KnowledgeBase) -> None:
    dense = DenseRetriever(knowledge.store)
    vector = knowledge.store.embedder.embed_query("password policy rules")
    ranked = dense.candidates(vector, 10)
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)
    rows = knowledge.store.chunk_rows()
    assert sum(rows[row].document_id == "long" for row, _ in ranked) > 2
    grouped = dense.candidates(vector, 10, per_document=2)
    assert sum(rows[row].document_id == "long" for row, _ in grouped) == 2


def test_a_rare_match_is_found_beyond_the_first_fetch(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder())
    documents = [Document(f"doc-{i}", "Shipping", f"Parcels ship in {i % 3 + 1} days.") for i in range(60)]
    kb.writer.add_documents([*documents, Document("rare", "Shipping", "Parcels ship fast.", metadata={"team": "x"})])
    hits = DenseRetriever(kb.store).retrieve("parcels ship in 2 days", 1, {"team": "x"})
    assert [hit.chunk.document_id for hit in hits] == ["rare"]
