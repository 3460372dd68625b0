import re
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


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (bytes(range(1, 32)) * 100, "control characters"),
        (bytes(b for b in range(128, 256) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)) * 50, "not UTF-8: byte 0x80"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(1, 256)) * 20, "not UTF-8"),
    ],
)
def test_binary_without_nul_bytes_is_refused_with_the_reason(tmp_path: Path, raw: bytes, reason: str) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(raw)
    with pytest.raises(LoaderError, match=f"looks like a binary file, not text .*{re.escape(reason)}"):
        read_text(path)


def test_utf8_text_in_any_script_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "zh.txt"
    path.write_text("退货政策：收货后30天内可退货。\tTab and\r\nWindows lines.", encoding="utf-8")
    assert read_text(path).startswith("退货政策")


def test_the_set_refuses_a_file_over_its_limit_before_a_loader_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text('{"id": "a", "text": "' + "x" * 3000 + '"}\n', encoding="utf-8")
    loaders = LoaderSet({"jsonl": JsonlLoader()}, max_file_bytes=1024)
    with pytest.raises(
        LoaderError, match=r"over the 0.000977 MB limit \(split it, or raise \[knowledge\] max_file_mb\)"
    ):
        loaders.load(path, tmp_path)
    assert [d.id for d in LoaderSet({"jsonl": JsonlLoader()}).load(path, tmp_path)] == ["a"]


def test_file_documents_record_the_path_below_the_ingested_folder_as_source(tmp_path: Path, loaders: LoaderSet) -> None:
    article = tmp_path / "billing" / "refunds.md"
    article.parent.mkdir()
    article.write_text("# Refunds\n\nFive days.\n", encoding="utf-8")
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\nHow long?,Five days.\n", encoding="utf-8")
    assert [d.source for d in loaders.load(article, tmp_path)] == ["billing/refunds.md"]
    assert [d.source for d in loaders.load(faq, tmp_path)] == ["faq.csv"]
    assert [d.source for d in loaders.load(article, article.parent)] == ["refunds.md"]
