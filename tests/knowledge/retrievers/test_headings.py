"""FAQ entries ranked by their question (`HeadingRanker`) inside hybrid retrieval, on a real FAISS index."""

from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders.hashing import HashEmbedder
from knowledge.retrievers.headings import HeadingRanker, answers_a_question
from knowledge.retrievers.hybrid import HybridRetriever, HybridSettings

ASKED = "When will my refund arrive?"
FAQ = [
    Document(
        "refund-timing",
        "When will my refund arrive?",
        "Money goes back to the original card; banks post it within five to ten business days.",
    ),
    Document(
        "refund-method",
        "Can a refund go to another card?",
        "A refund will arrive on the card you paid with; my account cannot send a refund to another card. "
        "When the card has expired, the refund will arrive on the replacement card.",
    ),
]
ARTICLE = Document(
    "refund-policy",
    "Refund policy",
    "Refunds arrive within ten days. When will my refund arrive depends on the bank; a refund arrives by card.",
)


def _index(tmp_path: Path, documents: list[Document]) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder())
    kb.writer.add_documents(documents)
    return kb


def _ranked(kb: KnowledgeBase, question_headings: bool) -> list[str]:
    retriever = HybridRetriever(kb.store, HybridSettings(question_headings=question_headings))
    return [hit.chunk.document_id for hit in retriever.retrieve(ASKED, 5)]


def test_the_entry_whose_question_was_asked_ranks_first(tmp_path: Path) -> None:
    kb = _index(tmp_path, FAQ)
    assert _ranked(kb, question_headings=False)[0] == "refund-method"  # its answer repeats the question's words
    assert _ranked(kb, question_headings=True)[0] == "refund-timing"


def test_chunks_that_are_not_faq_entries_keep_their_places(tmp_path: Path) -> None:
    kb = _index(tmp_path, [*FAQ, ARTICLE])
    without, with_questions = _ranked(kb, question_headings=False), _ranked(kb, question_headings=True)
    assert without.index("refund-policy") == with_questions.index("refund-policy")
    assert with_questions.index("refund-timing") < with_questions.index("refund-method")


def test_a_knowledge_base_without_faq_entries_ranks_as_before(tmp_path: Path) -> None:
    articles = [
        ARTICLE,
        Document("shipping", "Shipping times", "Parcels arrive within three days; refunds of postage arrive later."),
    ]
    kb = _index(tmp_path, articles)
    assert _ranked(kb, question_headings=True) == _ranked(kb, question_headings=False)
    assert HeadingRanker(kb.store).candidates(HashEmbedder().embed_query(ASKED), 5) == []


def test_only_question_headings_and_marked_faq_documents_are_entries(tmp_path: Path) -> None:
    marked = Document("hours", "Opening hours", "We open at nine.", metadata={"doc_type": "faq"})
    kb = _index(tmp_path, [*FAQ, ARTICLE, marked])
    entries = {chunk.document_id for chunk in kb.store.chunk_rows().values() if answers_a_question(chunk)}
    assert entries == {"refund-timing", "refund-method", "hours"}


def test_the_question_ranking_follows_filters_and_index_changes(tmp_path: Path) -> None:
    kb = _index(tmp_path, FAQ)
    ranker = HeadingRanker(kb.store)
    vector = HashEmbedder().embed_query(ASKED)
    rows = kb.store.chunk_rows()
    [(best, score), *_] = ranker.candidates(vector, 5)
    assert rows[best].document_id == "refund-timing" and score > 0.9
    only = ranker.candidates(vector, 5, {"document_id": ["refund-method"]})
    assert [rows[row].document_id for row, _ in only] == ["refund-method"]
    kb.writer.remove(["refund-timing"])
    assert [kb.store.chunk_rows()[row].document_id for row, _ in ranker.candidates(vector, 5)] == ["refund-method"]


def test_questions_a_snapshot_has_no_vectors_for_are_embedded(tmp_path: Path) -> None:
    import sqlite3

    from knowledge.snapshots import MANIFEST

    kb = _index(tmp_path, FAQ)
    kept = HeadingRanker(kb.store).candidates(HashEmbedder().embed_query(ASKED), 5)
    manifest = kb.store.directory / str(kb.store.revision) / MANIFEST
    with sqlite3.connect(manifest) as connection:  # as a snapshot written before sentence vectors were kept
        connection.execute("DROP TABLE sentence_vectors")
    assert HeadingRanker(kb.store).candidates(HashEmbedder().embed_query(ASKED), 5) == kept
