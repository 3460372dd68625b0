from pathlib import Path

import pytest

from knowledge.errors import LoaderError
from knowledge.loaders import base
from knowledge.loaders.base import LoaderSet, read_text
from knowledge.loaders.jsonl import JsonlLoader


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "image.md"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(LoaderError, match="binary"):
        read_text(path)


def test_huge_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MAX_FILE_BYTES", 1024)
    path = tmp_path / "huge.txt"
    path.write_text("x" * 4096, encoding="utf-8")
    with pytest.raises(LoaderError, match="over the"):
        read_text(path)


def test_wrongly_encoded_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Café opening hours – 9 to 5".encode("cp1252"))
    assert read_text(path) == "Café opening hours – 9 to 5"


def test_jsonl_line_that_is_not_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text('{"id": "a", "title": "A", "text": "fine"}\n{not json\n', encoding="utf-8")
    with pytest.raises(LoaderError, match=r"kb\.jsonl, line 2: not valid JSON"):
        list(JsonlLoader().load(path, tmp_path))


def test_every_common_type_has_a_loader(loaders: LoaderSet) -> None:
    suffixes = loaders.suffixes
    assert {".md", ".txt", ".html", ".htm", ".pdf", ".csv", ".jsonl"} <= suffixes


def test_loaders_are_entry_points() -> None:
    from bot.plugins import PluginRegistry

    assert {"html", "pdf", "csv", "jsonl", "markdown", "text"} <= set(PluginRegistry().names("loaders"))
