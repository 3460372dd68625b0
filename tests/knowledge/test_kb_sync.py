"""KnowledgeBase on a real FAISS index and SQLite manifest: incremental sync, removal, pruning, damage detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedders import HashEmbedder
from knowledge.errors import IndexCorruptError, KnowledgeError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    write(folder / "returns.md", "# Returns\n\nYou can return any product within 30 days of delivery.\n")
    write(folder / "shipping.md", "# Shipping\n\nParcels to Germany take 2 to 3 business days.\n")
    write(folder / "warranty.md", "# Warranty\n\nEvery device has a two-year warranty against defects.\n")
    return folder


def open_kb(tmp_path: Path, **kwargs: object) -> KnowledgeBase:
    return KnowledgeBase(tmp_path / "index", HashEmbedder(), **kwargs)  # type: ignore[arg-type]


def test_sync_indexes_and_finds_documents(tmp_path: Path, docs: Path) -> None:
    kb = open_kb(tmp_path)
    report = kb.sync([docs])
    assert (report.added, report.unchanged, report.errors) == (3, 0, [])
    hits = kb.search("how many days to return a product", top_k=1)
    assert hits[0].chunk.document_id == "returns"


def test_unchanged_documents_are_not_embedded_again(tmp_path: Path, docs: Path) -> None:
    kb = open_kb(tmp_path)
    kb.sync([docs])
    report = kb.sync([docs])
    assert (report.added, report.updated, report.unchanged, report.chunks_embedded) == (0, 0, 3, 0)
    assert not report.changed


def test_changed_document_is_reembedded_and_old_text_is_gone(tmp_path: Path, docs: Path) -> None:
    kb = open_kb(tmp_path)
    kb.sync([docs])
    write(docs / "shipping.md", "# Shipping\n\nParcels to Austria take 4 business days.\n")
    report = kb.sync([docs])
    assert (report.updated, report.unchanged) == (1, 2)
    texts = [chunk.text for chunk in kb.chunks()]
    assert any("Austria" in text for text in texts)
    assert not any("Germany" in text for text in texts)


def test_prune_removes_documents_whose_file_is_gone(tmp_path: Path, docs: Path) -> None:
    kb = open_kb(tmp_path)
    kb.sync([docs])
    (docs / "warranty.md").unlink()
    assert kb.sync([docs]).removed == 0  # without --prune a vanished file is kept
    assert kb.sync([docs], prune=True).removed == 1
    assert "warranty" not in kb.document_ids
    assert all(hit.chunk.document_id != "warranty" for hit in kb.search("two-year warranty defects", top_k=5))


def test_removed_document_is_never_retrieved_and_survives_reopen(tmp_path: Path, docs: Path) -> None:
    kb = open_kb(tmp_path)
    kb.sync([docs])
    kb.remove(["returns"])
    reopened = open_kb(tmp_path)
    assert reopened.document_ids == ["shipping", "warranty"]
    assert all(hit.chunk.document_id != "returns" for hit in reopened.search("return product 30 days", top_k=5))
    with pytest.raises(KnowledgeError, match="no such document"):
        reopened.remove(["returns"])


def test_jsonl_keeps_ids_and_drops_lines_removed_from_the_file(tmp_path: Path) -> None:
    lines = [{"id": f"doc-{n}", "title": f"Title {n}", "text": f"Body text number {n}."} for n in range(3)]
    source = write(tmp_path / "kb.jsonl", "\n".join(json.dumps(line) for line in lines))
    kb = open_kb(tmp_path)
    kb.sync([source])
    assert kb.document_ids == ["doc-0", "doc-1", "doc-2"]
    write(source, "\n".join(json.dumps(line) for line in lines[:2]))
    assert kb.sync([source]).removed == 1
    assert kb.document_ids == ["doc-0", "doc-1"]


def test_bad_file_is_reported_and_nothing_indexed_is_lost(tmp_path: Path, docs: Path) -> None:
    kb = open_kb(tmp_path)
    kb.sync([docs])
    write(tmp_path / "broken.jsonl", '{"id": "a", "text": "fine"}\nnot json\n')
    report = kb.sync([tmp_path / "broken.jsonl"])
    assert report.errors and "line 2" in report.errors[0]
    assert len(kb.document_ids) == 3


def test_index_built_with_another_embedder_is_refused(tmp_path: Path, docs: Path) -> None:
    open_kb(tmp_path).sync([docs])
    with pytest.raises(IndexCorruptError, match="kb rebuild"):
        KnowledgeBase(tmp_path / "index", HashEmbedder(dimension=128))


def test_rebuild_reembeds_with_the_new_embedder(tmp_path: Path, docs: Path) -> None:
    open_kb(tmp_path).sync([docs])
    other = KnowledgeBase(tmp_path / "index", HashEmbedder(dimension=128), load=False)
    report = other.rebuild()
    assert report.chunks_embedded == 3
    assert KnowledgeBase(tmp_path / "index", HashEmbedder(dimension=128)).search("warranty", 1)[
        0
    ].chunk.document_id == ("warranty")


def test_corrupt_faiss_file_is_detected(tmp_path: Path, docs: Path) -> None:
    kb = open_kb(tmp_path)
    kb.sync([docs])
    snapshot = kb.directory / (kb.directory / "CURRENT").read_text().strip()
    (snapshot / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="cannot be read"):
        open_kb(tmp_path)


def test_interrupted_write_leaves_previous_snapshot_live(tmp_path: Path, docs: Path) -> None:
    kb = open_kb(tmp_path)
    kb.sync([docs])
    # A writer killed mid-way leaves a half-written work folder behind; readers never see it.
    stale = kb.directory / ".work-99999"
    stale.mkdir()
    (stale / "manifest.sqlite").write_bytes(b"half written")
    assert open_kb(tmp_path).document_ids == ["returns", "shipping", "warranty"]
    write(docs / "new.md", "# New\n\nA new article.\n")
    open_kb(tmp_path).sync([docs])
    assert not stale.exists()


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="no such file or folder"):
        open_kb(tmp_path).sync([tmp_path / "nope"])


def test_search_filters_by_metadata(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "title": "Plans", "text": "The pro plan costs 10 euros.", "metadata": {"lang": "en"}},
        {"id": "b", "title": "Tarife", "text": "The pro plan costs 10 euros.", "metadata": {"lang": "de"}},
    ]
    source = write(tmp_path / "kb.jsonl", "\n".join(json.dumps(line) for line in lines))
    kb = open_kb(tmp_path)
    kb.sync([source])
    assert [h.chunk.document_id for h in kb.search("pro plan price", 5, filters={"lang": "de"})] == ["b"]
