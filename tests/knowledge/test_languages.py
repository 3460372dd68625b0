"""Languages recorded at ingest: each document's (and so its chunks') detected language, counted in the stats."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders import HashEmbedder
from knowledge.loaders.base import LoaderSet
from knowledge.retrievers.dense import DenseRetriever


def test_each_document_and_chunk_records_its_language(tmp_path: Path, loaders: LoaderSet) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "returns.md").write_text("# Returns\n\nReturn any product within 30 days.\n", encoding="utf-8")
    (folder / "tuihuo.md").write_text("# 退货政策\n\n收货后30天内可以退货，运费由我们承担。\n", encoding="utf-8")
    (folder / "fanti.md").write_text("# 退貨政策\n\n收貨後30天內可以退貨。\n", encoding="utf-8")
    (folder / "codes.txt").write_text("0800-123-456 / 12:00-18:00 → ★★★ 42%\n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "index", HashEmbedder(), loaders)
    report = kb.writer.sync([folder])
    assert report.added == 4 and not report.errors, "a document without letters is ingested too"
    rows = kb.store.documents().values()
    languages = {Path(row.source).stem: json.loads(row.metadata_json)["language"] for row in rows}
    assert languages == {"returns": "en", "tuihuo": "zh", "fanti": "zh", "codes": "und"}
    assert {chunk.metadata["language"] for chunk in kb.store.chunks() if chunk.title == "退货政策"} == {"zh"}
    assert kb.store.stats()["languages"] == {"zh": 2, "en": 1, "und": 1}
    hits = DenseRetriever(kb.store).retrieve("退货", 5, {"language": "zh"})
    assert hits and {hit.chunk.metadata["language"] for hit in hits} == {"zh"}


def test_a_language_given_by_the_source_wins_and_the_hash_is_the_documents_own(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "index", HashEmbedder())
    document = Document("faq-1", "Refunds", "退款需要五个工作日。", metadata={"language": "zh-TW"})
    kb.writer.add_documents([document, Document("faq-2", "Hours", "We open at nine.")])
    assert kb.store.stats()["languages"] == {"zh-TW": 1, "en": 1}
    assert kb.store.document("faq-1").content_hash == document.content_hash()  # type: ignore[union-attr]
    again = kb.writer.add_documents([document])
    assert again.unchanged == 1 and again.chunks_embedded == 0


def test_an_index_from_before_languages_were_recorded_gets_them_on_the_next_sync(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "index", HashEmbedder())
    document = Document("faq-1", "配送", "订单在两个工作日内发货。")
    kb.writer.add_documents([document])
    from knowledge.manifest import DocumentRow

    row = kb.store.document("faq-1")
    assert row is not None
    kb.store.documents()[row.id] = DocumentRow(**{**row.model_dump(), "metadata_json": "{}"})  # type: ignore[index]
    assert kb.store.languages() == {"unrecorded": 1}
    report = kb.writer.add_documents([document])
    assert report.updated == 1 and report.chunks_embedded == 0, "vectors come from the cache"
    assert kb.store.languages() == {"zh": 1}
