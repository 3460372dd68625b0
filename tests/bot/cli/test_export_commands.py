import json

from typer.testing import CliRunner

from bot.cli.main import app
from bot.config import load_settings
from bot.store.conversations import SqlConversationStore


def test_export_conversations_rated_only(monkeypatch, tmp_path):
    monkeypatch.setenv("DESKBOT_DATA_DIR", str(tmp_path / "data"))
    store = SqlConversationStore.from_settings(load_settings())
    store.append("c1", "u1", "slack", "user", "Where is my parcel?")
    store.append("c1", "u1", "slack", "assistant", "It ships tomorrow. [1]", ["order-tracking"])
    store.rate_last_answer("c1", "u1", "good")
    store.append("c2", "u2", "api", "user", "hello")
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["export", "conversations", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert len(output.read_text().splitlines()) == 2
    result = CliRunner().invoke(app, ["export", "conversations", "--rated-only", "--output", str(output)])
    assert result.exit_code == 0
    (line,) = output.read_text().splitlines()
    record = json.loads(line)
    assert record["conversation_id"] == "c1" and record["messages"][1]["rating"] == "good"
    assert record["messages"][1]["citations"] == ["order-tracking"]


def test_export_into_missing_folder_fails(monkeypatch, tmp_path):
    monkeypatch.setenv("DESKBOT_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["export", "conversations", "--output", str(tmp_path / "no" / "x.jsonl")])
    assert result.exit_code == 1
