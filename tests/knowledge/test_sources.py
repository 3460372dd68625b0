"""What a sync reads: every supported file, bad files reported, repeated ids and (on request) duplicates left out."""

import json
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedders.hashing import HashEmbedder
from knowledge.loaders.base import LoaderSet

BODY = " ".join(f"word{i}" for i in range(200))


def write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nReturn items within 30 days.\n", encoding="utf-8")
    (docs / "faq.csv").write_text("question,answer\nHow long is shipping?,Three days.\n", encoding="utf-8")
    return docs


def test_unchanged_reingest_embeds_nothing(tmp_path: Path, folder: Path, loaders: LoaderSet) -> None:
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder(), loaders)
    first = kb.writer.sync([folder])
    assert first.added == 2 and first.chunks_embedded == 2
    snapshot = kb.store.revision
    again = kb.writer.sync([folder])
    assert not again.changed and again.unchanged == 2 and again.chunks_embedded == 0
    assert kb.store.revision == snapshot


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.jsonl", b'{"id": "x", "text": "ok"}\n{oops\n', "line 2: not valid JSON"),
        ("image.md", b"\x00\x01\x02\x03PNG", "binary"),
        ("locked.pdf", b"%PDF-1.4 truncated", "not a readable PDF"),
        ("broken.csv", b"name,price\nx,1\n", "question column"),
    ],
)
def test_bad_file_is_reported_and_nothing_indexed_is_lost(
    tmp_path: Path, folder: Path, name: str, content: bytes, message: str, loaders: LoaderSet
) -> None:
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder(), loaders)
    kb.writer.sync([folder])
    (folder / name).write_bytes(content)
    report = kb.writer.sync([folder], prune=True)
    assert len(report.errors) == 1 and message in report.errors[0]
    assert sorted(KnowledgeBase(tmp_path / "kb", HashEmbedder(), loaders).store.document_ids) == ["faq-2", "returns"]


def test_empty_file_adds_nothing(tmp_path: Path, folder: Path, loaders: LoaderSet) -> None:
    (folder / "empty.md").write_text("", encoding="utf-8")
    report = KnowledgeBase(tmp_path / "kb", HashEmbedder(), loaders).writer.sync([folder])
    assert report.added == 2 and not report.errors


def test_duplicate_ids_across_files_keep_the_first(tmp_path: Path, loaders: LoaderSet) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"id": "same", "title": "A", "text": "first"}])
    write_jsonl(tmp_path / "b.jsonl", [{"id": "same", "title": "B", "text": "second"}])
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder(), loaders)
    report = kb.writer.sync([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert report.added == 1
    assert "duplicate document id 'same'" in report.errors[0]
    assert kb.store.document("same").title == "A"  # type: ignore[union-attr]


def test_deduplicate_leaves_out_copies(tmp_path: Path, loaders: LoaderSet) -> None:
    write_jsonl(
        tmp_path / "kb.jsonl",
        [
            {"id": "a", "title": "Returns", "text": BODY},
            {"id": "b", "title": "Returns", "text": BODY},
            {"id": "c", "title": "Returns", "text": BODY.replace("word40", "other")},
            {"id": "d", "title": "Shipping", "text": "Three days."},
        ],
    )
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder(), loaders)
    report = kb.writer.sync([tmp_path / "kb.jsonl"], deduplicate=True)
    assert kb.store.document_ids == ["a", "d"]
    assert report.duplicates == ["b (exact duplicate of a)", "c (near duplicate of a)"]


def test_an_id_another_file_holds_is_refused_and_the_other_file_keeps_it(tmp_path: Path, loaders: LoaderSet) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(first, [{"id": "faq-1", "title": "A", "text": "From the first file."}])
    write_jsonl(second, [{"id": "faq-1", "title": "B", "text": "From the second file."}])
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder(), loaders)
    kb.writer.sync([first])
    report = kb.writer.sync([second])
    assert not report.changed
    assert report.errors == [
        f"{second.resolve()}: document id 'faq-1' already belongs to {first.resolve()}; skipped "
        "(give it another id, or remove it from the other source first)"
    ]
    document = kb.store.document("faq-1")
    assert document is not None and document.title == "A"


def test_an_id_moves_within_one_run_when_its_old_file_no_longer_has_it(tmp_path: Path, loaders: LoaderSet) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(first, [{"id": "faq-1", "title": "A", "text": "Here first."}])
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder(), loaders)
    kb.writer.sync([first])
    write_jsonl(first, [{"id": "faq-2", "title": "C", "text": "Something else."}])
    write_jsonl(second, [{"id": "faq-1", "title": "A", "text": "Here first."}])
    report = kb.writer.sync([first, second])
    assert report.errors == []
    document = kb.store.document("faq-1")
    assert document is not None and document.origin == str(second.resolve())
