from knowledge.base import KnowledgeBase
from knowledge.retrievers.hybrid import HybridRetriever, HybridSettings


def test_exact_code_is_found_and_scores_are_exposed(knowledge: KnowledgeBase) -> None:
    [best, *_] = HybridRetriever(knowledge.store).retrieve("what does qx-7731 mean", 3)
    assert best.chunk.document_id == "locked"
    assert best.lexical_score is not None and best.lexical_score > 0
    assert best.fused_score is not None and best.fused_score > 0
    assert -1.0 <= best.score <= 1.0


def test_filters_apply_to_both_searches(knowledge: KnowledgeBase) -> None:
    hits = HybridRetriever(knowledge.store).retrieve("password reset invoices", 5, {"team": "billing"})
    assert {hit.chunk.document_id for hit in hits} == {"billing", "refunds"}
    assert (
        HybridRetriever(knowledge.store).retrieve("password", 5, {"document_id": ["password"]})[0].chunk.id
        == "password#0"
    )


def test_one_document_does_not_fill_every_slot(knowledge: KnowledgeBase) -> None:
    hits = HybridRetriever(knowledge.store, HybridSettings(per_document=1)).retrieve("password policy rules", 3)
    ids = [hit.chunk.document_id for hit in hits]
    assert len(ids) == len(set(ids)) == 3


def test_removed_document_is_never_retrieved_again(knowledge: KnowledgeBase) -> None:
    retriever = HybridRetriever(knowledge.store)
    assert retriever.retrieve("qx-7731", 1)[0].chunk.document_id == "locked"
    knowledge.writer.remove(["locked"])
    assert all(hit.chunk.document_id != "locked" for hit in retriever.retrieve("qx-7731 account locked", 10))
