"""watch_and_sync on a real folder: an edit is re-indexed, a new file added, a deleted one pruned at once."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.embedders import HashEmbedder
from knowledge.loaders.base import LoaderSet
from knowledge.reports import SyncReport
from knowledge.watch import watch_and_sync


def test_changes_are_synced_as_they_happen_and_deleted_files_pruned(tmp_path: Path, loaders: LoaderSet) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nReturn items within 30 days.\n")
    kb = KnowledgeBase(tmp_path / "index", HashEmbedder(), loaders)
    kb.writer.sync([docs])
    reports: queue.Queue[SyncReport] = queue.Queue()
    stop = threading.Event()
    watcher = threading.Thread(
        target=watch_and_sync, args=(kb.writer, [docs], reports.put, stop), kwargs={"debounce_ms": 100}
    )
    watcher.start()
    try:
        threading.Event().wait(0.5)  # let the watcher start before the first change
        (docs / "shipping.md").write_text("# Shipping\n\nParcels take 3 days.\n")
        (docs / "notes.tmp").write_text("not a document")
        report = reports.get(timeout=20)
        assert (report.added, report.unchanged) == (1, 1)

        (docs / "returns.md").unlink()
        report = reports.get(timeout=20)
        assert report.removed == 1
        assert kb.store.document_ids == ["shipping"]
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert not watcher.is_alive()
