from pathlib import Path

import pytest
from langchain_core.documents import Document as LangChainDocument
from langchain_core.retrievers import BaseRetriever

from knowledge.base import KnowledgeBase
from knowledge.embedders.hashing import HashEmbedder
from knowledge.errors import KnowledgeError
from knowledge.langchain_interop import add_langchain_documents, as_langchain_retriever


def test_langchain_documents_in_and_retriever_out(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder())
    report = add_langchain_documents(
        kb.writer,
        [
            LangChainDocument(page_content="Shipping takes three days.", id="ship", metadata={"title": "Shipping"}),
            LangChainDocument(page_content="Refunds take five days.", metadata={"id": "refund", "team": "billing"}),
            LangChainDocument(page_content="Opening hours are 9 to 5."),
        ],
    )
    assert report.added == 3
    assert "ship" in kb.store.document_ids and "refund" in kb.store.document_ids

    retriever = as_langchain_retriever(kb.store, top_k=2)
    assert isinstance(retriever, BaseRetriever)
    [best, *_] = retriever.invoke("how long do refunds take")
    assert best.metadata["document_id"] == "refund"
    assert best.metadata["team"] == "billing"
    assert isinstance(best.metadata["score"], float)

    filtered = as_langchain_retriever(kb.store, top_k=3, filters={"document_id": "ship"}).invoke("refunds")
    assert [d.metadata["document_id"] for d in filtered] == ["ship"]


def test_other_objects_are_refused(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder())
    with pytest.raises(KnowledgeError, match="not a LangChain Document"):
        add_langchain_documents(kb.writer, ["plain string"])
