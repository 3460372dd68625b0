"""Hybrid retrieval with the real embedded MiniLM (slow: loads the model)."""

import json
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.loaders.base import LoaderSet
from knowledge.retrievers.hybrid import HybridRetriever

COVID = Path(__file__).resolve().parents[4] / "shared" / "data" / "covid_faq_paraphrases"


@pytest.mark.slow
@pytest.mark.skipif(not COVID.is_dir(), reason="shared dev data not present")
def test_paraphrased_questions_find_their_faq(tmp_path: Path, loaders: LoaderSet) -> None:
    from knowledge.embedders.sentence_transformer import SentenceTransformerEmbedder

    records = [json.loads(line) for line in (COVID / "kb" / "kb.jsonl").read_text().splitlines()[:40]]
    (tmp_path / "kb.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    known = {r["id"] for r in records}
    questions = [json.loads(line) for line in (COVID / "dev.jsonl").read_text().splitlines()]
    questions = [q for q in questions if q["relevant_ids"] and set(q["relevant_ids"]) <= known]
    assert questions

    kb = KnowledgeBase(tmp_path / "index", SentenceTransformerEmbedder(), loaders)
    kb.writer.sync([tmp_path / "kb.jsonl"])
    retriever = HybridRetriever(kb.store)
    found = 0
    for question in questions:
        ranked = [hit.chunk.document_id for hit in retriever.retrieve(question["question"], 5)]
        found += bool(set(ranked) & set(question["relevant_ids"]))
    assert found / len(questions) >= 0.7
