from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.errors import LoaderError
from knowledge.loaders import LoaderSet


def test_markdown_title_and_id_from_path(tmp_path: Path, loaders: LoaderSet) -> None:
    path = tmp_path / "billing" / "invoices.md"
    path.parent.mkdir()
    path.write_text("# Invoices and VAT\n\nInvoices are emailed.\n", encoding="utf-8")
    [document] = loaders.load(path, tmp_path)
    assert (document.id, document.title) == ("billing/invoices", "Invoices and VAT")
    assert document.text == "Invoices are emailed."
    assert "modified" in document.metadata


def test_empty_file_gives_no_document(tmp_path: Path, loaders: LoaderSet) -> None:
    path = tmp_path / "empty.md"
    path.write_text("  \n", encoding="utf-8")
    assert loaders.load(path, tmp_path) == []


def test_binary_file_is_refused(tmp_path: Path, loaders: LoaderSet) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\x00\x00\x01binary")
    with pytest.raises(LoaderError, match="binary"):
        loaders.load(path, tmp_path)


def test_cp1252_text_is_decoded(tmp_path: Path, loaders: LoaderSet) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Caf\xe9 opening hours\nWe open at 9.".encode("latin-1"))
    [document] = loaders.load(path, tmp_path)
    assert document.title == "Café opening hours"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"title": "x", "text": "y"}', "missing string field 'id'"),
        ('{"id": "x"}', "missing string field 'text'"),
    ],
)
def test_bad_jsonl_lines_name_file_and_line(tmp_path: Path, loaders: LoaderSet, line: str, message: str) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text('{"id": "ok", "text": "fine"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(LoaderError, match=f"kb.jsonl, line 2: {message}"):
        loaders.load(path, tmp_path)


def test_duplicate_jsonl_ids_are_refused(tmp_path: Path, loaders: LoaderSet) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text('{"id": "a", "text": "one"}\n{"id": "a", "text": "two"}\n', encoding="utf-8")
    with pytest.raises(LoaderError, match="duplicate id 'a'"):
        loaders.load(path, tmp_path)


def test_unknown_suffix_names_the_known_ones(tmp_path: Path, loaders: LoaderSet) -> None:
    path = tmp_path / "deck.key"
    path.write_bytes(b"x")
    with pytest.raises(LoaderError, match=r"no loader for '\.key'"):
        loaders.load(path, tmp_path)


def test_folder_walk_skips_hidden_and_unknown_files(tmp_path: Path, loaders: LoaderSet) -> None:
    (tmp_path / ".deskbot-index").mkdir()
    (tmp_path / ".deskbot-index" / "x.md").write_text("# hidden", encoding="utf-8")
    (tmp_path / "a.md").write_text("# A", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes(b"\x00")
    assert [path.name for path, _ in loaders.files_under([tmp_path])] == ["a.md"]
