"""The Chinese sample help centre (`deskbot --sample zh ...`): it answers Chinese questions from its own articles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.evaluation.questions import load_questions
from knowledge.samples import SAMPLE_DIRS, sample_documents_folder

QUESTIONS = SAMPLE_DIRS["zh"] / "questions.jsonl"


@pytest.fixture
def fast_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER", "hash")
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER_MODEL", "hash-256")
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "fake")
    monkeypatch.setenv("DESKBOT_DATA_DIR", str(tmp_path / "data"))


def test_the_sample_has_twenty_articles_and_questions_about_them() -> None:
    articles = {path.stem for path in sample_documents_folder("zh").glob("*.md")}
    assert len(articles) >= 20
    questions = load_questions(QUESTIONS)
    assert len(questions) >= 15 and any(not q.answerable for q in questions) and any(q.history for q in questions)
    assert {doc for q in questions for doc in q.relevant_ids} <= articles


@pytest.mark.usefixtures("fast_models")
def test_ask_on_the_chinese_sample_cites_the_right_article() -> None:
    result = CliRunner().invoke(app, ["--sample", "zh", "ask", "Nimbus Sense 的电池用什么型号？", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["citations"][0]["id"] == "sense-battery-replacement"


@pytest.mark.usefixtures("fast_models")
def test_kb_stats_counts_the_samples_documents_per_language() -> None:
    result = CliRunner().invoke(app, ["--sample", "zh", "kb", "stats"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["languages"] == {"zh": len(list(sample_documents_folder("zh").glob("*.md")))}


def test_an_unknown_sample_is_one_clear_error() -> None:
    result = CliRunner().invoke(app, ["--sample", "fr", "kb", "stats"])
    assert result.exit_code == 1 and "no such sample" in result.output


@pytest.mark.slow
def test_the_default_embedder_finds_the_articles_of_the_chinese_questions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`embedder = "auto"` chooses e5 for the Chinese sample; it ranks the right article first for most questions."""
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "fake")
    monkeypatch.setenv("DESKBOT_DATA_DIR", str(tmp_path / "data"))
    args = ["--sample", "zh", "eval", "retrieval", "--questions", str(QUESTIONS), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["recall@5"] >= 0.9 and scores["recall@1"] >= 0.7, scores


@pytest.mark.usefixtures("fast_models")
def test_eval_answers_runs_on_the_chinese_questions() -> None:
    args = ["--sample", "zh", "eval", "answers", "--questions", str(QUESTIONS), "--limit", "6", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert scores["n"] == 6 and 0.0 <= scores["rougeL"] <= 1.0
