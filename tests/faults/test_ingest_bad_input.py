"""`deskbot ingest` under bad input: every refused file or document gets a reason, and the rest of the run goes on.

Replays issue 16's ingest defects through the real CLI and a real index: a jsonl that reuses another file's document
id (it silently replaced the indexed document), a binary file without NUL bytes (indexed as cp1252 text), CSVs with
broken quoting or no usable rows ("0 added" and no error), a file over the size limit and a document of too many
chunks (one huge file dominated every search).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli.main import app


@pytest.fixture(autouse=True)
def fast_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER", "hash")
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER_MODEL", "hash-256")
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "fake")


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    return folder


def ingest(kb: Path, *paths: Path, expect_exit: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["ingest", *map(str, paths), "--kb", str(kb), "--json"])
    assert result.exit_code == expect_exit, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def search(kb: Path, query: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["kb", "search", query, "--kb", str(kb), "--json"])
    assert result.exit_code == 0, result.output
    hits: list[dict[str, Any]] = json.loads(result.stdout)["hits"]
    return hits


def jsonl(path: Path, *documents: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(document) + "\n" for document in documents), encoding="utf-8")
    return path


def good_article(folder: Path) -> Path:
    path = folder / "returns.md"
    path.write_text("# Returns\n\nReturn items within 30 days for a refund.\n", encoding="utf-8")
    return path


def test_a_document_id_of_another_file_is_refused_naming_both_files(tmp_path: Path, kb: Path) -> None:
    first = jsonl(tmp_path / "billing.jsonl", {"id": "faq-1", "title": "Invoices", "text": "Invoices come monthly."})
    second = jsonl(tmp_path / "shipping.jsonl", {"id": "faq-1", "title": "Parcels", "text": "Parcels ship daily."})
    assert ingest(kb, first)["added"] == 1

    report = ingest(kb, second, expect_exit=1)
    assert report["added"] == report["updated"] == 0
    [error] = report["errors"]
    assert f"{second.resolve()}: document id 'faq-1' already belongs to {first.resolve()}" in error
    [hit, *_] = search(kb, "invoices monthly")
    assert hit["id"] == "faq-1" and hit["title"] == "Invoices"  # the first file's document is untouched

    jsonl(first, {"id": "faq-1", "title": "Invoices", "text": "Invoices come every month, by e-mail."})
    assert ingest(kb, first)["updated"] == 1  # its own file still updates it


def test_an_id_passes_to_a_new_file_once_the_old_one_is_gone(tmp_path: Path, kb: Path) -> None:
    old = jsonl(tmp_path / "old.jsonl", {"id": "faq-1", "title": "Invoices", "text": "Invoices come monthly."})
    ingest(kb, old)
    old.unlink()
    moved = jsonl(tmp_path / "new.jsonl", {"id": "faq-1", "title": "Invoices", "text": "Invoices come monthly."})
    report = ingest(kb, moved)
    assert report["errors"] == [] and report["updated"] == 1


def test_binary_files_without_nul_bytes_are_refused_and_the_run_goes_on(tmp_path: Path, kb: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    good_article(docs)
    noise = random.Random(16).randbytes(20_000).replace(b"\x00", b"\x01")
    (docs / "firmware.txt").write_bytes(noise)  # not UTF-8; today decoded as latin-1
    windows_safe = bytes(b for b in range(1, 256) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)) * 40
    (docs / "dump.md").write_bytes(windows_safe)  # decodes as cp1252 without an error; today indexed as text

    report = ingest(kb, docs)
    assert report["added"] == 1
    errors = sorted(report["errors"])
    assert len(errors) == 2
    assert "dump.md: looks like a binary file, not text" in errors[0]
    assert "firmware.txt: looks like a binary file, not text (not UTF-8: byte 0x" in errors[1]


def test_a_csv_with_broken_quoting_is_refused_naming_the_line(tmp_path: Path, kb: Path) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text('question,answer\n"How long is shipping?,Three days.\nWhat about returns?,30 days.\n')
    report = ingest(kb, faq, expect_exit=1)
    [error] = report["errors"]
    assert "faq.csv, line 2: malformed CSV (unexpected end of data; is a quote left open?)" in error


def test_a_csv_whose_rows_have_no_answers_is_refused(tmp_path: Path, kb: Path) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\nHow long is shipping?,\nWhat about returns?,\n")
    [error] = ingest(kb, faq, expect_exit=1)["errors"]
    assert "faq.csv: none of its 2 rows has both a question ('question') and an answer ('answer')" in error


def test_a_file_over_the_size_limit_is_refused_with_the_setting_to_raise(
    tmp_path: Path, kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__MAX_FILE_MB", "0.01")
    docs = tmp_path / "docs"
    docs.mkdir()
    good_article(docs)
    (docs / "manual.txt").write_text("The manual.\n\n" + "Press the button to start. " * 1000)
    report = ingest(kb, docs)
    assert report["added"] == 1
    [error] = report["errors"]
    assert "manual.txt: file is 0.0258 MB, over the 0.01 MB limit (split it, or raise [knowledge] max_file_mb)" in error


def test_a_document_of_too_many_chunks_is_refused_so_it_cannot_flood_search(
    tmp_path: Path, kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__MAX_DOCUMENT_CHUNKS", "20")
    docs = tmp_path / "docs"
    docs.mkdir()
    good_article(docs)
    paragraphs = [f"Section {n}: returns, refunds and exchanges are handled here in detail." for n in range(400)]
    (docs / "log.txt").write_text("Log\n\n" + "\n\n".join(paragraphs))

    report = ingest(kb, docs)
    assert report["added"] == 1
    [error] = report["errors"]
    assert "document 'log' is" in error and "chunks, over the limit of 20; skipped" in error
    assert {hit["id"] for hit in search(kb, "returns refunds")} == {"returns"}


def test_the_printed_reason_keeps_the_setting_it_names(
    tmp_path: Path, kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rich markup once ate "[knowledge]" out of the printed line; reasons are printed as they are written."""
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__MAX_FILE_MB", "0.001")
    manual = tmp_path / "manual.txt"
    manual.write_text("The manual.\n\n" + "Press the button to start. " * 100)
    result = CliRunner().invoke(app, ["ingest", str(manual), "--kb", str(kb)])
    assert result.exit_code == 1
    assert "(split it, or raise [knowledge] max_file_mb)" in result.output
