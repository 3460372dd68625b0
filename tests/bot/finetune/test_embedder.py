"""Embedder fine-tuning end to end on a tiny BERT sentence-transformer built in the test."""

import json
from pathlib import Path

import pytest

from bot.finetune.embedder import EmbedderOptions, query_text, train_embedder
from bot.finetune.errors import TrainingDataError
from bot.finetune.preparation import SplitOptions, prepare
from bot.finetune.sources import TrainingPair, load_knowledge, read_training_file
from bot.types import ChatMessage
from knowledge.embedders.sentence_transformer import SentenceTransformerEmbedder

pytestmark = pytest.mark.integration


def test_trains_and_writes_a_model_folder_the_knowledge_side_loads(
    tiny_embedder_dir: Path, questions_file: Path, knowledge_file: Path, tmp_path: Path
) -> None:
    data = prepare(read_training_file(questions_file), SplitOptions(validation_fraction=0.25))
    output = tmp_path / "embedder"
    options = EmbedderOptions(output_dir=output, base_model=str(tiny_embedder_dir), max_steps=2, batch_size=4)
    result = train_embedder(data, load_knowledge(knowledge_file), options)

    assert result.steps == 2 and result.train_pairs == len(data.train)
    assert set(result.before) == set(result.after) == {"recall@1", "recall@5", "mrr@10"}
    assert json.loads((output / "evaluation.json").read_text())["validation_queries"] == len(data.validation)
    assert (output / "report.html").is_file() and (output / "loss.png").is_file()
    embedder = SentenceTransformerEmbedder(model=str(output))
    assert embedder.embed_documents(["How long is the warranty?"]).shape == (1, 32)


def test_pairs_without_known_relevant_documents_are_refused(
    tiny_embedder_dir: Path, knowledge_file: Path, tmp_path: Path
) -> None:
    data = prepare(read_training_file(_questions_without_relevant_ids(tmp_path)))
    options = EmbedderOptions(output_dir=tmp_path / "out", base_model=str(tiny_embedder_dir), max_steps=1)
    with pytest.raises(TrainingDataError, match="relevant document"):
        train_embedder(data, load_knowledge(knowledge_file), options)


def _questions_without_relevant_ids(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "Why?", "answer": "Because."}\n', encoding="utf-8")
    return path


def test_query_text_carries_the_last_user_turn() -> None:
    pair = TrainingPair(
        "a",
        "Are the rooms clean?",
        "Yes.",
        history=(ChatMessage("user", "Tell me about the Belfry."), ChatMessage("assistant", "It is cheap.")),
    )
    assert query_text(pair) == "Tell me about the Belfry. Are the rooms clean?"
