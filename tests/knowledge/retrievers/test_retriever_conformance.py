"""Every retriever conforms to `knowledge.retrieval.Retriever` and behaves alike at the edges."""

import pytest

from knowledge.base import KnowledgeBase
from knowledge.documents import SearchHit
from knowledge.retrieval import Retriever
from knowledge.retrievers.dense import DenseRetriever
from knowledge.retrievers.hybrid import HybridRetriever
from knowledge.retrievers.lexical import LexicalRetriever

RETRIEVERS = [HybridRetriever, DenseRetriever, LexicalRetriever]


@pytest.mark.parametrize("kind", RETRIEVERS)
def test_conforms_to_the_retriever_protocol(knowledge: KnowledgeBase, kind: type[Retriever]) -> None:
    retriever = kind(knowledge.store)  # type: ignore[call-arg]
    assert isinstance(retriever, Retriever)
    hits = retriever.retrieve("reset password", 3)
    assert 0 < len(hits) <= 3
    assert all(isinstance(hit, SearchHit) for hit in hits)
    assert retriever.retrieve("   ", 3) == []


@pytest.mark.parametrize("kind", RETRIEVERS)
def test_nothing_is_found_in_an_empty_store_or_for_no_slots(knowledge: KnowledgeBase, kind: type[Retriever]) -> None:
    retriever = kind(knowledge.store)  # type: ignore[call-arg]
    assert retriever.retrieve("reset password", 0) == []
    knowledge.writer.remove(knowledge.store.document_ids)
    assert retriever.retrieve("reset password", 3) == []


@pytest.mark.parametrize("kind", RETRIEVERS)
def test_score_is_the_cosine_similarity(knowledge: KnowledgeBase, kind: type[Retriever]) -> None:
    retriever = kind(knowledge.store)  # type: ignore[call-arg]
    store = knowledge.store
    vector = store.embedder.embed_query("reset password")
    rows = {chunk.id: row for row, chunk in store.chunk_rows().items()}
    for hit in retriever.retrieve("reset password", 3):
        assert hit.score == pytest.approx(store.similarities(vector, [rows[hit.chunk.id]])[rows[hit.chunk.id]])
