"""One index built by `deskbot ingest`, served by readers that follow its snapshots (real FAISS index, HashEmbedder)."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.plugins import PluginRegistry
from bot.runtime import Runtime
from bot.types import Message
from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders.hashing import HashEmbedder
from knowledge.retrievers.dense import DenseRetriever
from knowledge.retrievers.following import FollowingRetriever
from knowledge.snapshots import VECTORS

REPO = Path(__file__).resolve().parents[2]
FAST_MODELS = {
    "DESKBOT_KNOWLEDGE__EMBEDDER": "hash",
    "DESKBOT_KNOWLEDGE__EMBEDDER_MODEL": "hash-256",
    "DESKBOT_LLM__BACKEND": "fake",
}
FIRST = [Document("returns", "Returns", "Return items within 30 days for a refund.")]
ADDED = Document("warranty", "Warranty", "The zephyrometer thermostat has a two-year warranty.")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def top_document(retriever: FollowingRetriever, query: str) -> str:
    return retriever.retrieve(query, 1)[0].chunk.document_id


def follower(index: Path, clock: Clock) -> FollowingRetriever:
    reader = KnowledgeBase(index, HashEmbedder())
    return FollowingRetriever(reader.store, DenseRetriever, reload_interval_s=5.0, clock=clock)


def test_a_reader_picks_up_a_new_snapshot_after_the_interval(tmp_path: Path) -> None:
    writer = KnowledgeBase(tmp_path / "index", HashEmbedder())
    writer.writer.add_documents(FIRST)
    clock = Clock()
    retriever = follower(tmp_path / "index", clock)
    assert top_document(retriever, "zephyrometer warranty") == "returns"
    in_flight = retriever.searching  # a turn that started on snapshot 1

    writer.writer.add_documents([ADDED])  # the writer deletes snapshot 1's folder after its swap
    clock.now = 4.0
    assert top_document(retriever, "zephyrometer warranty") == "returns"  # not checked yet
    clock.now = 5.5
    assert top_document(retriever, "zephyrometer warranty") == "warranty"
    assert retriever.store.revision == writer.store.revision
    assert [hit.chunk.document_id for hit in in_flight.retrieve("zephyrometer", 5)] == ["returns"]


def test_a_damaged_snapshot_keeps_the_old_one_serving_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = KnowledgeBase(tmp_path / "index", HashEmbedder())
    writer.writer.add_documents(FIRST)
    clock = Clock()
    retriever = follower(tmp_path / "index", clock)
    serving = retriever.store.revision
    writer.writer.add_documents([ADDED])
    damaged = writer.store.revision
    assert damaged is not None
    (tmp_path / "index" / damaged / VECTORS).write_bytes(b"not a faiss index")
    with caplog.at_level(logging.WARNING, logger="knowledge.retrievers.following"):
        for step in range(1, 4):
            clock.now = 10.0 * step
            assert top_document(retriever, "zephyrometer warranty") == "returns"
    assert retriever.store.revision == serving
    [warning] = caplog.records
    assert damaged in warning.getMessage() and "still serving" in warning.getMessage()

    writer.writer.add_documents([Document("shipping", "Shipping", "Orders ship within three days.")])
    clock.now = 100.0
    assert top_document(retriever, "orders ship three days") == "shipping"


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns) for path in folder.rglob("*")}


@pytest.mark.parametrize("configured", [True, False], ids=["read_only", "unwritable-folder"])
async def test_a_read_only_index_opens_serves_and_is_never_written(
    configured: bool, settings: Settings, registry: PluginRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nReturn items within 30 days for a refund.\n")
    index = tmp_path / "shared-index"
    settings.knowledge.path, settings.knowledge.index_dir = docs, index
    Runtime(settings, registry).knowledge()  # the ingest job: builds the index
    (docs / "new.md").write_text("# Gift cards\n\nGift cards never expire.\n")  # not yet ingested
    for path in [index, *index.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    if configured:
        settings.knowledge.read_only = True
    else:  # tests run as root here, who may write anyway: the folder is reported unwritable
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == index else real_access(path, mode))
    before = tree(index)
    try:
        serving = Runtime(settings, registry)
        assert serving.reads_index_only()
        reply = await serving.engine().handle(Message(text="how many days to return items for a refund"))
        assert [citation.id for citation in reply.citations][:1] == ["returns"]
        serving.settings.knowledge.reload_interval_s = 0
        await serving.engine().handle(Message(text="gift cards expire"))
        assert serving.knowledge().store.document_ids == ["returns"]  # no sync on start
        assert tree(index) == before
    finally:
        for path in [index, *index.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def ingest_in_another_process(docs: Path, index: Path) -> None:
    environment = {
        **os.environ,
        **FAST_MODELS,
        "DESKBOT_KNOWLEDGE__PATH": str(docs),
        "DESKBOT_KNOWLEDGE__INDEX_DIR": str(index),
        "PYTHONPATH": str(REPO),
    }
    finished = subprocess.run(
        [sys.executable, "-c", "from bot.cli.main import run; run()", "ingest", str(docs)],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr


async def test_a_serving_runtime_answers_from_what_deskbot_ingest_adds(
    settings: Settings, registry: PluginRegistry, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nReturn items within 30 days for a refund.\n")
    index = tmp_path / "shared-index"
    ingest_in_another_process(docs, index)
    settings.knowledge.path, settings.knowledge.index_dir = docs, index
    settings.knowledge.read_only, settings.knowledge.reload_interval_s = True, 0.2
    engine = Runtime(settings, registry).engine()
    first = await engine.handle(Message(text="how many days to return items for a refund"))
    assert [citation.id for citation in first.citations][:1] == ["returns"]
    question = "does the zephyrometer thermostat have a warranty"
    assert "warranty" not in [citation.id for citation in (await engine.handle(Message(text=question))).citations]

    (docs / "warranty.md").write_text("# Warranty\n\nThe zephyrometer thermostat has a two-year warranty.\n")
    ingest_in_another_process(docs, index)
    await asyncio.sleep(0.3)
    later = await engine.handle(Message(text=question))
    assert [citation.id for citation in later.citations][:1] == ["warranty"]
