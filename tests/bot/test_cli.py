"""The `deskbot` command line, run as a real subprocess (HashEmbedder + FakeLLM through the environment)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from bot.runtime import Runtime
from prompts import PromptLibrary
from tests.deskbot_process import run_deskbot

FAST_ENV = {
    "DESKBOT_KNOWLEDGE__EMBEDDER": "hash",
    "DESKBOT_KNOWLEDGE__EMBEDDER_MODEL": "hash-256",
    "DESKBOT_LLM__BACKEND": "fake",
    "DESKBOT_ANSWER__MIN_SCORE": "0.1",
}


def deskbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> CompletedProcess[str]:
    return run_deskbot(
        *args, cwd=cwd, env={**FAST_ENV, "DESKBOT_DATA_DIR": str(cwd / ".data"), **(env or {})}, stdin=stdin
    )


def test_ask_json_has_the_documented_shape(tmp_path: Path) -> None:
    result = deskbot("ask", "Which payment methods do you accept?", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"answer", "citations", "abstained", "handoff", "conversation_id", "latency_ms"}
    assert payload["citations"] and set(payload["citations"][0]) == {"id", "title", "source", "score"}
    assert "payment-methods" in [c["id"] for c in payload["citations"]]


def test_init_ingest_ask_on_own_documents(tmp_path: Path) -> None:
    assert deskbot("init", "shop", cwd=tmp_path).returncode == 0
    project = tmp_path / "shop"
    assert (project / "deskbot.toml").is_file() and (project / "prompts" / "system.j2").is_file()
    (project / "knowledge" / "opening-hours.md").write_text(
        "# Opening hours\n\nThe Leipzig store opens Monday to Saturday from 9:00 to 19:00.\n", encoding="utf-8"
    )
    result = deskbot("ask", "When does the Leipzig store open?", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["citations"][0]["id"] == "opening-hours"
    again = deskbot("init", "shop", cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_ingest_into_a_kb_folder_then_search(tmp_path: Path) -> None:
    source = tmp_path / "kb.jsonl"
    source.write_text(json.dumps({"id": "faq-7", "title": "Gift cards", "text": "Gift cards never expire."}) + "\n")
    result = deskbot("ingest", str(source), "--kb", str(tmp_path / "kb"), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == 1
    found = deskbot("kb", "search", "do gift cards expire", "--kb", str(tmp_path / "kb"), "--json", cwd=tmp_path)
    assert json.loads(found.stdout)["hits"][0]["id"] == "faq-7"
    stats = deskbot("kb", "stats", "--kb", str(tmp_path / "kb"), cwd=tmp_path)
    assert json.loads(stats.stdout)["documents"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ingest", "missing.md"), "missing.md: no such file or folder"),
        (("ask", "   "), "the question is empty"),
        (("ask", "hi", "--kb", "no-such-folder"), "does not exist"),
        (("--config", "nope.toml", "ask", "hi"), "config file not found"),
    ],
)
def test_bad_input_prints_one_line_and_fails(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = deskbot(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_config_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "deskbot.toml").write_text("[answer]\nmin_score = 'high'\n", encoding="utf-8")
    result = deskbot("ask", "hi", cwd=tmp_path, env={"DESKBOT_ANSWER__MIN_SCORE": ""})
    assert result.returncode == 1
    assert "answer.min_score" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_index_is_reported_with_the_fix(tmp_path: Path) -> None:
    source = tmp_path / "a.md"
    source.write_text("# A\n\nSome text.\n", encoding="utf-8")
    kb = tmp_path / "kb"
    assert deskbot("ingest", str(source), "--kb", str(kb), cwd=tmp_path).returncode == 0
    snapshot = kb / ".deskbot-index" / (kb / ".deskbot-index" / "CURRENT").read_text().strip()
    (snapshot / "vectors.faiss").write_bytes(b"not faiss")
    result = deskbot("kb", "stats", "--kb", str(kb), cwd=tmp_path)
    assert result.returncode == 1 and "cannot be read" in result.stderr
    assert deskbot("kb", "rebuild", "--kb", str(kb), cwd=tmp_path).returncode == 0
    assert json.loads(deskbot("kb", "stats", "--kb", str(kb), cwd=tmp_path).stdout)["documents"] == 1


def test_chat_reads_piped_lines(tmp_path: Path) -> None:
    result = deskbot("chat", cwd=tmp_path, stdin="/help\nWhich payment methods do you accept?\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "/reset" in result.stdout
    assert "payment-methods" in result.stdout


def test_init_template_states_the_defaults() -> None:
    """`deskbot init` writes the defaults out for people to edit; only the project's own folders differ."""
    import tomllib

    from bot.cli.project_commands import CONFIG_TEMPLATE
    from bot.config import Settings

    defaults = Settings()
    project_folders = {("knowledge", "path"), ("prompts", "directory")}
    for section, values in tomllib.loads(CONFIG_TEMPLATE).items():
        for key, value in values.items():
            if (section, key) not in project_folders:
                assert getattr(getattr(defaults, section), key) == value, f"[{section}] {key}"


def test_ask_shows_the_canned_reply_when_a_stage_fails(
    runtime: Runtime, exploding_stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bot.cli.main import app  # first: it imports the command modules

    chat_commands = importlib.import_module("bot.cli.chat_commands")

    monkeypatch.setattr(chat_commands, "runtime", lambda *_args, **_kwargs: runtime)
    result = CliRunner().invoke(app, ["ask", "--json", "Which payment methods do you accept?"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["answer"] == PromptLibrary().render("error") and payload["citations"] == []
    assert exploding_stage not in result.stdout  # the log (stderr) names it for the operator


def test_an_impossible_pipeline_is_one_line_before_anything_loads(tmp_path: Path) -> None:
    result = deskbot("ask", "hi", cwd=tmp_path, env={"DESKBOT_PIPELINE__STAGES": '["answer"]'})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: pipeline.stages: 'answer' needs hits, which no stage before it provides"
    ]
    assert not (tmp_path / ".data" / "sample-index").exists(), "refused before the knowledge base was indexed"
