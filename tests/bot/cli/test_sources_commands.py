"""`deskbot ingest URL` and `deskbot kb sources` against a loopback help-centre site and a folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from tests.knowledge.help_site import HelpSite, status


@pytest.fixture(autouse=True)
def fast_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER", "hash")
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER_MODEL", "hash-256")
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "fake")


@pytest.fixture
def site() -> Iterator[HelpSite]:
    server = HelpSite().start()
    yield server
    server.stop()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "returns.md").write_text("# Returns\n\nReturn items within 30 days of delivery.\n")
    return folder


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def sources(kb: Path) -> list[dict[str, object]]:
    result = invoke("kb", "sources", "--kb", str(kb), "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return json.loads(result.stdout)["sources"]  # type: ignore[attr-defined, no-any-return]


def test_ingest_a_sitemap_then_again_with_every_page_unchanged(site: HelpSite, docs: Path) -> None:
    sitemap = site.url("/sitemap_index.xml")
    first = invoke("ingest", sitemap, "--kb", str(docs), "--rate", "100", "--json")
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    assert json.loads(first.stdout)["added"] == 5  # type: ignore[attr-defined]
    again = invoke("ingest", sitemap, "--kb", str(docs), "--rate", "100", "--json")
    assert json.loads(again.stdout)["unchanged"] == 5  # type: ignore[attr-defined]
    [row] = sources(docs)
    assert (row["source"], row["kind"], row["documents"]) == (sitemap, "sitemap", 5)
    assert row["last_result"] == {"added": 0, "updated": 0, "removed": 0, "unchanged": 5, "errors": 1}

    result = invoke("kb", "search", "refund processing time", "--kb", str(docs), "--json")
    [best, *_] = json.loads(result.stdout)["hits"]  # type: ignore[attr-defined]
    assert best["id"] == site.url("/articles/refunds.html")


def test_kb_sources_lists_folders_and_sites_and_a_removed_source_is_never_served(site: HelpSite, docs: Path) -> None:
    start = site.url("/")
    result = invoke("ingest", str(docs), start, "--kb", str(docs), "--rate", "100", "--depth", "1")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    rows = {row["source"]: row for row in sources(docs)}
    assert rows[str(docs.resolve())]["documents"] == 1 and rows[str(docs.resolve())]["kind"] == "files"
    assert rows[start]["kind"] == "crawl" and rows[start]["documents"] == 3

    text = invoke("kb", "sources", "--kb", str(docs))
    assert f"{start}  [crawl] 3 documents" in text.stdout  # type: ignore[attr-defined]

    removed = invoke("kb", "sources", "--kb", str(docs), "--remove", start)
    assert removed.exit_code == 0 and "its 3 documents" in removed.output  # type: ignore[attr-defined]
    assert [row["source"] for row in sources(docs)] == [str(docs.resolve())]
    hits = json.loads(invoke("kb", "search", "account billing help", "--kb", str(docs), "--json").stdout)["hits"]  # type: ignore[attr-defined]
    assert {hit["id"] for hit in hits} == {"returns"}


def test_removing_an_unknown_source_fails_with_one_line(docs: Path) -> None:
    invoke("ingest", str(docs), "--kb", str(docs))
    result = invoke("kb", "sources", "--kb", str(docs), "--remove", "https://nowhere.example/sitemap.xml")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "no such source" in result.output  # type: ignore[attr-defined]


def test_a_site_that_cannot_be_synced_exits_non_zero_with_its_reason(site: HelpSite, docs: Path) -> None:
    site.route("/robots.txt", status(503))
    result = invoke("ingest", site.url("/sitemap.xml"), "--kb", str(docs), "--rate", "100")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "robots.txt cannot be read (HTTP 503 after 3 tries)" in result.output  # type: ignore[attr-defined]


def test_watch_is_for_files_only(docs: Path) -> None:
    result = invoke("ingest", "https://help.example.com/sitemap.xml", "--watch", "--kb", str(docs))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "sync URLs on a schedule" in result.output  # type: ignore[attr-defined]
