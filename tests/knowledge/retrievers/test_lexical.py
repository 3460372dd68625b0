from knowledge.base import KnowledgeBase
from knowledge.retrievers.lexical import LexicalRetriever


def test_exact_code_is_found_with_its_bm25_score(knowledge: KnowledgeBase) -> None:
    [best] = LexicalRetriever(knowledge.store).retrieve("what does qx-7731 mean", 1)
    assert best.chunk.document_id == "locked"
    assert best.lexical_score is not None and best.lexical_score > 0
    assert best.fused_score is None


def test_filters_and_grouping_apply(knowledge: KnowledgeBase) -> None:
    retriever = LexicalRetriever(knowledge.store, per_document=1)
    assert {hit.chunk.document_id for hit in retriever.retrieve("invoices refunds", 5, {"team": "billing"})} == {
        "billing",
        "refunds",
    }
    ids = [hit.chunk.document_id for hit in retriever.retrieve("password", 5)]
    assert len(ids) == len(set(ids))


def test_index_follows_the_store(knowledge: KnowledgeBase) -> None:
    retriever = LexicalRetriever(knowledge.store)
    assert retriever.retrieve("qx-7731", 1)[0].chunk.document_id == "locked"
    _, before = retriever.index()
    knowledge.writer.remove(["locked"])
    _, after = retriever.index()
    assert after is not before and after.size == before.size - 1
    assert retriever.retrieve("qx-7731", 1) == []
