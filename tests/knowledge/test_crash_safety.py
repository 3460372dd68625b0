"""kill -9 in the middle of an ingest leaves the previous index loadable (a real subprocess, really killed)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedders.hashing import HashEmbedder
from knowledge.loaders.base import LoaderSet
from knowledge.retrievers.dense import DenseRetriever

SLOW_INGEST = """
import sys, time
from pathlib import Path
from bot.plugins import PluginRegistry
from knowledge.base import KnowledgeBase
from knowledge.embedders.hashing import HashEmbedder
from knowledge.loaders.base import LoaderSet

class SlowEmbedder(HashEmbedder):
    def embed_documents(self, texts):
        print("embedding", flush=True)
        time.sleep(0.5)
        return super().embed_documents(texts)

loaders = LoaderSet({name: plugin() for name, plugin in PluginRegistry().load_all("loaders").items()})
kb = KnowledgeBase(Path(sys.argv[1]), SlowEmbedder(), loaders)
kb.writer.sync([Path(sys.argv[2])])
print("done", flush=True)
"""


@pytest.mark.integration
def test_kill_during_ingest_keeps_previous_index(tmp_path: Path, loaders: LoaderSet) -> None:
    index, first, second = tmp_path / "kb", tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(json.dumps({"id": "kept", "title": "Kept", "text": "Shipping takes three days."}) + "\n")
    KnowledgeBase(index, HashEmbedder(), loaders).writer.sync([first])
    second.write_text(
        "".join(json.dumps({"id": f"new-{i}", "title": "New", "text": f"text {i} " * 40}) + "\n" for i in range(2000))
    )

    script = tmp_path / "ingest.py"
    script.write_text(SLOW_INGEST)
    process = subprocess.Popen(
        [sys.executable, str(script), str(index), str(second)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "embedding"  # the work folder exists and is being filled
    time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    reopened = KnowledgeBase(index, HashEmbedder(), loaders)
    assert reopened.store.document_ids == ["kept"]
    assert DenseRetriever(reopened.store).retrieve("shipping", 1)[0].chunk.document_id == "kept"
    report = reopened.writer.sync([first])  # the stale lock and work folder do not block the next writer
    assert report.unchanged == 1
