from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.documents import Document, SearchHit
from knowledge.embedders.hashing import HashEmbedder
from knowledge.hybrid import HybridRetriever, HybridSettings
from knowledge.retrieval import DenseRetriever, Retriever

DOCUMENTS = [
    Document("locked", "Account locked", "If sign-in fails with code QX-7731 your account is locked for an hour."),
    Document("password", "Reset your password", "Open settings, choose security and reset the password."),
    Document("billing", "Invoices", "Invoices are emailed monthly.", metadata={"team": "billing"}),
    Document("refunds", "Refunds", "Refunds reach your card within five days.", metadata={"team": "billing"}),
    Document(
        "long",
        "Long guide",
        "\n\n".join(f"## Part {i}\n\nThe password policy part {i} explains password rules." for i in range(6)),
    ),
]


@pytest.fixture
def knowledge(tmp_path: Path) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder())
    kb.add_documents(DOCUMENTS)
    return kb


def test_conforms_to_the_retriever_protocol(knowledge: KnowledgeBase) -> None:
    for retriever in (HybridRetriever(knowledge), DenseRetriever(knowledge)):
        assert isinstance(retriever, Retriever)
        hits = retriever.retrieve("reset password", 3)
        assert 0 < len(hits) <= 3
        assert all(isinstance(hit, SearchHit) for hit in hits)
        assert retriever.retrieve("   ", 3) == []


def test_exact_code_is_found_and_scores_are_exposed(knowledge: KnowledgeBase) -> None:
    [best, *_] = HybridRetriever(knowledge).retrieve("what does qx-7731 mean", 3)
    assert best.chunk.document_id == "locked"
    assert best.lexical_score is not None and best.lexical_score > 0
    assert best.fused_score is not None and best.fused_score > 0
    assert -1.0 <= best.score <= 1.0


def test_filters_apply_to_both_searches(knowledge: KnowledgeBase) -> None:
    hits = HybridRetriever(knowledge).retrieve("password reset invoices", 5, {"team": "billing"})
    assert {hit.chunk.document_id for hit in hits} == {"billing", "refunds"}
    assert HybridRetriever(knowledge).retrieve("password", 5, {"document_id": ["password"]})[0].chunk.id == "password#0"


def test_one_document_does_not_fill_every_slot(knowledge: KnowledgeBase) -> None:
    hits = HybridRetriever(knowledge, HybridSettings(per_document=1)).retrieve("password policy rules", 3)
    ids = [hit.chunk.document_id for hit in hits]
    assert len(ids) == len(set(ids)) == 3


def test_removed_document_is_never_retrieved_again(knowledge: KnowledgeBase) -> None:
    retriever = HybridRetriever(knowledge)
    assert retriever.retrieve("qx-7731", 1)[0].chunk.document_id == "locked"
    knowledge.remove(["locked"])
    assert all(hit.chunk.document_id != "locked" for hit in retriever.retrieve("qx-7731 account locked", 10))


class ReverseReranker:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        self.seen.append(len(hits))
        return list(reversed(hits))


def test_reranker_stage_reorders_candidates(knowledge: KnowledgeBase) -> None:
    plain = HybridRetriever(knowledge, HybridSettings(rerank_depth=2)).retrieve("password", 2)
    reranker = ReverseReranker()
    reranked = HybridRetriever(knowledge, HybridSettings(rerank_depth=2), reranker=reranker).retrieve("password", 2)
    assert reranker.seen == [2]
    assert [h.chunk.id for h in reranked] == [h.chunk.id for h in reversed(plain)]
