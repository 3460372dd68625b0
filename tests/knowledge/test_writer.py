"""KnowledgeWriter on a real FAISS index and SQLite manifest: incremental sync, removal, pruning, rebuild."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.documents import SearchHit
from knowledge.embedders import HashEmbedder
from knowledge.errors import IndexCorruptError, KnowledgeError
from knowledge.loaders.base import LoaderSet
from knowledge.retrievers.dense import DenseRetriever


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


@pytest.fixture
def open_kb(loaders: LoaderSet) -> Callable[[Path], KnowledgeBase]:
    def open_in(tmp_path: Path) -> KnowledgeBase:
        return KnowledgeBase(tmp_path / "index", HashEmbedder(), loaders)

    return open_in


def search(kb: KnowledgeBase, query: str, top_k: int = 5, filters: dict[str, str] | None = None) -> list[SearchHit]:
    return DenseRetriever(kb.store).retrieve(query, top_k, filters)


def test_sync_indexes_and_finds_documents(tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]) -> None:
    kb = open_kb(tmp_path)
    report = kb.writer.sync([docs])
    assert (report.added, report.unchanged, report.errors) == (3, 0, [])
    hits = search(kb, "how many days to return a product", top_k=1)
    assert hits[0].chunk.document_id == "returns"


def test_unchanged_documents_are_not_embedded_again(
    tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    kb = open_kb(tmp_path)
    kb.writer.sync([docs])
    report = kb.writer.sync([docs])
    assert (report.added, report.updated, report.unchanged, report.chunks_embedded) == (0, 0, 3, 0)
    assert not report.changed


def test_changed_document_is_reembedded_and_old_text_is_gone(
    tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    kb = open_kb(tmp_path)
    kb.writer.sync([docs])
    write(docs / "shipping.md", "# Shipping\n\nParcels to Austria take 4 business days.\n")
    report = kb.writer.sync([docs])
    assert (report.updated, report.unchanged) == (1, 2)
    texts = [chunk.text for chunk in kb.store.chunks()]
    assert any("Austria" in text for text in texts)
    assert not any("Germany" in text for text in texts)


def test_prune_removes_documents_whose_file_is_gone(
    tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    kb = open_kb(tmp_path)
    kb.writer.sync([docs])
    (docs / "warranty.md").unlink()
    assert kb.writer.sync([docs]).removed == 0  # without --prune a vanished file is kept
    assert kb.writer.sync([docs], prune=True).removed == 1
    assert "warranty" not in kb.store.document_ids
    assert all(hit.chunk.document_id != "warranty" for hit in search(kb, "two-year warranty defects", top_k=5))


def test_removed_document_is_never_retrieved_and_survives_reopen(
    tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    kb = open_kb(tmp_path)
    kb.writer.sync([docs])
    kb.writer.remove(["returns"])
    reopened = open_kb(tmp_path)
    assert reopened.store.document_ids == ["shipping", "warranty"]
    assert all(hit.chunk.document_id != "returns" for hit in search(reopened, "return product 30 days", top_k=5))
    with pytest.raises(KnowledgeError, match="no such document"):
        reopened.writer.remove(["returns"])


def test_jsonl_keeps_ids_and_drops_lines_removed_from_the_file(
    tmp_path: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    lines = [{"id": f"doc-{n}", "title": f"Title {n}", "text": f"Body text number {n}."} for n in range(3)]
    source = write(tmp_path / "kb.jsonl", "\n".join(json.dumps(line) for line in lines))
    kb = open_kb(tmp_path)
    kb.writer.sync([source])
    assert kb.store.document_ids == ["doc-0", "doc-1", "doc-2"]
    write(source, "\n".join(json.dumps(line) for line in lines[:2]))
    assert kb.writer.sync([source]).removed == 1
    assert kb.store.document_ids == ["doc-0", "doc-1"]


def test_bad_file_is_reported_and_nothing_indexed_is_lost(
    tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    kb = open_kb(tmp_path)
    kb.writer.sync([docs])
    write(tmp_path / "broken.jsonl", '{"id": "a", "text": "fine"}\nnot json\n')
    report = kb.writer.sync([tmp_path / "broken.jsonl"])
    assert report.errors and "line 2" in report.errors[0]
    assert len(kb.store.document_ids) == 3


def test_index_built_with_another_embedder_is_refused(
    tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    open_kb(tmp_path).writer.sync([docs])
    with pytest.raises(IndexCorruptError, match="kb rebuild"):
        KnowledgeBase(tmp_path / "index", HashEmbedder(dimension=128))


def test_rebuild_reembeds_with_the_new_embedder(
    tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    open_kb(tmp_path).writer.sync([docs])
    other = KnowledgeBase(tmp_path / "index", HashEmbedder(dimension=128), load=False)
    report = other.writer.rebuild()
    assert report.chunks_embedded == 3
    rebuilt = KnowledgeBase(tmp_path / "index", HashEmbedder(dimension=128))
    assert search(rebuilt, "warranty", 1)[0].chunk.document_id == ("warranty")


def test_corrupt_faiss_file_is_detected(tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]) -> None:
    kb = open_kb(tmp_path)
    kb.writer.sync([docs])
    snapshot = kb.directory / (kb.directory / "CURRENT").read_text().strip()
    (snapshot / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="cannot be read"):
        open_kb(tmp_path)


def test_interrupted_write_leaves_previous_snapshot_live(
    tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    kb = open_kb(tmp_path)
    kb.writer.sync([docs])
    # A writer killed mid-way leaves a half-written work folder behind; readers never see it.
    stale = kb.directory / ".work-99999"
    stale.mkdir()
    (stale / "manifest.sqlite").write_bytes(b"half written")
    assert open_kb(tmp_path).store.document_ids == ["returns", "shipping", "warranty"]
    write(docs / "new.md", "# New\n\nA new article.\n")
    open_kb(tmp_path).writer.sync([docs])
    assert not stale.exists()


def test_missing_path_is_a_clear_error(tmp_path: Path, open_kb: Callable[[Path], KnowledgeBase]) -> None:
    with pytest.raises(KnowledgeError, match="no such file or folder"):
        open_kb(tmp_path).writer.sync([tmp_path / "nope"])


def test_search_filters_by_metadata(tmp_path: Path, open_kb: Callable[[Path], KnowledgeBase]) -> None:
    lines = [
        {"id": "a", "title": "Plans", "text": "The pro plan costs 10 euros.", "metadata": {"lang": "en"}},
        {"id": "b", "title": "Tarife", "text": "The pro plan costs 10 euros.", "metadata": {"lang": "de"}},
    ]
    source = write(tmp_path / "kb.jsonl", "\n".join(json.dumps(line) for line in lines))
    kb = open_kb(tmp_path)
    kb.writer.sync([source])
    assert [h.chunk.document_id for h in search(kb, "pro plan price", 5, filters={"lang": "de"})] == ["b"]


def test_sync_without_loaders_is_a_clear_error(tmp_path: Path, docs: Path) -> None:
    with pytest.raises(KnowledgeError, match="without document loaders"):
        KnowledgeBase(tmp_path / "index", HashEmbedder()).writer.sync([docs])


def test_text_is_cleaned_before_chunking(tmp_path: Path, loaders: LoaderSet) -> None:
    write(
        tmp_path / "kb.jsonl",
        json.dumps({"id": "a", "title": "T", "text": "Skip to main content\nReal   text."}) + "\n",
    )
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder(), loaders)
    kb.writer.sync([tmp_path / "kb.jsonl"])
    assert [chunk.text for chunk in kb.store.chunks()] == ["Real text."]


def test_rebuild_recovers_from_an_older_snapshot_when_the_live_one_is_damaged(
    tmp_path: Path, docs: Path, open_kb: Callable[[Path], KnowledgeBase]
) -> None:
    import shutil

    kb = open_kb(tmp_path)
    kb.writer.sync([docs])
    index = kb.directory
    shutil.copytree(index / "snap-000001", index / "snap-000002")
    (index / "snap-000002" / "manifest.sqlite").write_bytes(b"damaged" * 100)
    (index / "CURRENT").write_text("snap-000002\n")
    with pytest.raises(IndexCorruptError, match="manifest is unreadable"):
        open_kb(tmp_path)

    report = KnowledgeBase(index, HashEmbedder(), load=False).writer.rebuild()
    assert report.rebuilt_from == str(index / "snap-000001")
    assert (report.documents, report.chunks_embedded, report.chunks_reused) == (3, 0, 3)
    assert sorted(path.name for path in index.glob("snap-*")) == ["snap-000003"]
    assert search(open_kb(tmp_path), "warranty", 1)[0].chunk.document_id == "warranty"


def test_rebuilding_an_index_never_written_asks_for_an_ingest(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="nothing to rebuild; ingest documents first"):
        KnowledgeBase(tmp_path / "index", HashEmbedder(), load=False).writer.rebuild()


def test_a_document_over_the_chunk_limit_is_skipped_and_reported(
    tmp_path: Path, docs: Path, loaders: LoaderSet
) -> None:
    write(docs / "manual.md", "# Manual\n\n" + "\n\n".join(f"Step {n}: press the button." for n in range(300)))
    kb = KnowledgeBase(tmp_path / "index", HashEmbedder(), loaders, max_document_chunks=3)
    report = kb.writer.sync([docs])
    assert report.added == 3 and "manual" not in kb.store.document_ids
    [error] = report.errors
    assert "document 'manual' is" in error and "over the limit of 3" in error
