import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app


@pytest.fixture(autouse=True)
def fast_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER", "hash")
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER_MODEL", "hash-256")
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "fake")


def test_ingest_every_type_then_search_shows_hybrid_scores(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nReturn items within 30 days.\n")
    (docs / "locked.html").write_text("<html><body><main><h1>Locked</h1><p>Code QX-7731: account locked.</p></main>")
    row = "How long is shipping?,Three days.\n"
    (docs / "faq.csv").write_text("question,answer\n" + row + row)
    runner = CliRunner()

    result = runner.invoke(app, ["ingest", str(docs), "--kb", str(docs), "--dedupe", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["added"] == 3
    assert report["duplicates"] == ["faq-3 (exact duplicate of faq-2)"]

    result = runner.invoke(app, ["kb", "search", "QX-7731", "--kb", str(docs), "--json"])
    assert result.exit_code == 0, result.output
    [best, *_] = json.loads(result.stdout)["hits"]
    assert best["id"] == "locked"
    assert best["lexical_score"] > 0 and best["fused_score"] > 0
