import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app


@pytest.fixture
def kb_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER", "hash")
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER_MODEL", "hash-256")
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "fake")
    folder = tmp_path / "kb"
    folder.mkdir()
    records = [
        {"id": "ship", "title": "Shipping", "text": "Orders ship within three days."},
        {"id": "refund", "title": "Refunds", "text": "Refunds take five days."},
    ]
    (folder / "kb.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder


def write_questions(path: Path, relevant: str) -> Path:
    path.write_text(json.dumps({"id": "q", "question": "how long do refunds take", "relevant_ids": [relevant]}) + "\n")
    return path


def test_json_output_has_exactly_the_documented_keys(kb_folder: Path, tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.jsonl", "refund")
    result = CliRunner().invoke(
        app, ["eval", "retrieval", "--questions", str(questions), "--kb", str(kb_folder), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == [
        "n",
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "ndcg@10",
        "latency_ms_p50",
        "latency_ms_p95",
    ]
    assert data["n"] == 1 and data["recall@1"] == 1.0


@pytest.mark.integration
def test_unknown_ids_print_one_line_and_fail(kb_folder: Path, tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.jsonl", "missing-doc")
    result = subprocess.run(
        [
            Path(sys.executable).parent / "deskbot",
            "eval",
            "retrieval",
            "--questions",
            str(questions),
            "--kb",
            str(kb_folder),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert result.returncode == 1
    assert "relevant id(s) are not in the knowledge base (missing-doc)" in result.stderr
    assert "Traceback" not in result.stderr
