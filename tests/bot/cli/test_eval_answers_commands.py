import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.evaluation.answers import KEYS

SAMPLE_QUESTIONS = Path(__file__).resolve().parents[3] / "knowledge" / "sample" / "questions.jsonl"


@pytest.fixture
def fast_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "fake")
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER", "hash")
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER_MODEL", "hash-256")
    monkeypatch.setenv("DESKBOT_ANSWER__MIN_SCORE", "0.1")
    monkeypatch.setenv("DESKBOT_DATA_DIR", str(tmp_path / "data"))


def test_eval_answers_json_and_report(fast_env, tmp_path):
    report = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        ["eval", "answers", "--questions", str(SAMPLE_QUESTIONS), "--limit", "6", "--json", "--report", str(report)],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(KEYS) <= set(summary) and "perplexity" in summary
    assert summary["n"] == 6
    assert (report / "index.html").is_file() and (report / "latency.png").stat().st_size > 1000


def test_eval_answers_missing_file_is_one_line_error(fast_env, tmp_path):
    from bot.evaluation.questions import QuestionFileError

    result = CliRunner().invoke(app, ["eval", "answers", "--questions", str(tmp_path / "nope.jsonl")])
    assert result.exit_code != 0
    assert isinstance(result.exception, QuestionFileError) or "not found" in result.output
