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


def test_a_rebuild_from_the_documents_alone_keeps_the_curated_answers(tmp_path: Path, monkeypatch) -> None:
    """Curated answers live in the store, not in the documents folder: an index rebuilt from the folder (its
    snapshots gone) gets them back from the store, and the curated answer is served again."""
    import shutil

    from bot.cli.main import runtime
    from bot.curation import CuratedKnowledge
    from bot.store.curated_answers import CuratedAnswers

    monkeypatch.setenv("DESKBOT_STORE__URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    monkeypatch.setenv("DESKBOT_ANSWER__MIN_SCORE", "0.1")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nReturn items within 30 days for a refund.\n")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(docs), "--kb", str(docs)]).exit_code == 0
    question, answer = "Can I bring my parrot to the store?", "Parrots are welcome on Tuesdays."
    rt = runtime(docs)
    curated = CuratedAnswers(rt.database())
    curated.add(question, answer, "ada", None, None)
    assert CuratedKnowledge(curated, rt.knowledge(sync=False).writer).sync().added == 1

    def served() -> bool:
        asked = runner.invoke(app, ["ask", question, "--kb", str(docs), "--json"])
        assert asked.exit_code == 0, asked.output
        reply = json.loads(asked.stdout)
        return reply["answer"].startswith(answer) and reply["citations"][0]["id"] == "curated-1"

    assert served()

    shutil.rmtree(docs / ".deskbot-index")  # no snapshot left: the rebuild reads the folder again
    rebuilt = runner.invoke(app, ["kb", "rebuild", "--kb", str(docs)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "restored 1 curated answers from the store" in rebuilt.output

    assert served(), "the curated answer is served after the rebuild"
