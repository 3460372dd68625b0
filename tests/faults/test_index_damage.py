"""Every damaged-index state ends in one clear line whose advice works, through the real CLI and a real FAISS index.

Each test builds an index with `deskbot ingest`, damages it the way a crash, a full disk or a careless `rm` would,
checks that `deskbot kb stats` fails with one line that names the file and advises a command, then runs exactly
that command and searches the repaired index.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli.main import app
from knowledge.errors import IndexCorruptError

REPO = Path(__file__).resolve().parents[2]
FAST_MODELS = {
    "DESKBOT_KNOWLEDGE__EMBEDDER": "hash",
    "DESKBOT_KNOWLEDGE__EMBEDDER_MODEL": "hash-256",
    "DESKBOT_LLM__BACKEND": "fake",
}
ADVICE = re.compile(r"`deskbot ([^`]+)`")


@pytest.fixture(autouse=True)
def fast_models(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_MODELS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A documents folder, ingested: its index lives in `docs/.deskbot-index`."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "returns.md").write_text("# Returns\n\nReturn items within 30 days for a refund.\n")
    (folder / "shipping.md").write_text("# Shipping\n\nOrders ship within three working days.\n")
    (folder / "warranty.md").write_text("# Warranty\n\nThe thermostat has a two-year warranty.\n")
    result = deskbot("ingest", str(folder), "--kb", str(folder))
    assert result.exit_code == 0, result.output
    return folder


def deskbot(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def index_of(docs: Path) -> Path:
    return docs / ".deskbot-index"


def live_snapshot(docs: Path) -> Path:
    return index_of(docs) / (index_of(docs) / "CURRENT").read_text().strip()


def garbage_pointer(docs: Path) -> None:
    (index_of(docs) / "CURRENT").write_bytes(b"\xff\xfe\x00\x13garbage")


def pointer_to_missing_snapshot(docs: Path) -> None:
    (index_of(docs) / "CURRENT").write_text("snap-000042\n")


def deleted_pointer(docs: Path) -> None:
    (index_of(docs) / "CURRENT").unlink()


def truncated_faiss_file(docs: Path) -> None:
    vectors = live_snapshot(docs) / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:500])


def deleted_faiss_file(docs: Path) -> None:
    (live_snapshot(docs) / "vectors.faiss").unlink()


def corrupt_manifest(docs: Path) -> None:
    manifest = live_snapshot(docs) / "manifest.sqlite"
    manifest.write_bytes(manifest.read_bytes()[:3000])


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "garbage CURRENT": (garbage_pointer, "CURRENT: damaged"),
    "CURRENT names a missing snapshot": (pointer_to_missing_snapshot, "missing snapshot 'snap-000042'"),
    "CURRENT deleted": (deleted_pointer, "CURRENT: missing, but snapshot snap-000001 is still there"),
    "truncated FAISS file": (truncated_faiss_file, "the FAISS index cannot be read (the file is truncated)"),
    "deleted FAISS file": (deleted_faiss_file, "the FAISS index cannot be read (the file is missing)"),
    "corrupt manifest": (corrupt_manifest, "manifest.sqlite: the manifest is unreadable"),
}


def one_line_failure(result: Result) -> str:
    """The message of a command that failed the expected way: a DeskbotError that `deskbot` prints as one line."""
    assert result.exit_code != 0
    assert isinstance(result.exception, IndexCorruptError), result.output
    message = str(result.exception)
    assert "\n" not in message and "Error in" not in message and len(message) < 300
    return message


@pytest.mark.parametrize("state", list(DAMAGE))
def test_each_damaged_state_gives_one_line_whose_advice_repairs_the_index(docs: Path, state: str) -> None:
    damage, expected = DAMAGE[state]
    damage(docs)

    message = one_line_failure(deskbot("kb", "stats", "--kb", str(docs)))
    assert expected in message
    [advised] = ADVICE.findall(message)
    assert advised == "kb rebuild"

    repaired = deskbot(*advised.split(), "--kb", str(docs))
    assert repaired.exit_code == 0, repaired.output
    assert "rebuilt 3 documents" in repaired.output
    if state != "corrupt manifest":  # the manifest's vectors (the embedding cache) survived: nothing is embedded
        assert "0 chunks embedded, 3 vectors reused" in repaired.output

    found = deskbot("kb", "search", "refund", "--kb", str(docs), "--json")
    assert found.exit_code == 0, found.output
    assert '"id": "returns"' in found.stdout
    assert deskbot("kb", "stats", "--kb", str(docs)).exit_code == 0


def test_a_deleted_pointer_is_not_an_empty_index_to_write_over(docs: Path) -> None:
    old_snapshot = live_snapshot(docs)
    deleted_pointer(docs)
    (docs / "new.md").write_text("# New\n\nA new article.\n")

    one_line_failure(deskbot("ingest", str(docs), "--kb", str(docs)))
    assert (old_snapshot / "manifest.sqlite").exists()  # nothing was written over it


def test_a_corrupt_manifest_is_rebuilt_from_the_documents_folder(docs: Path) -> None:
    corrupt_manifest(docs)
    repaired = deskbot("kb", "rebuild", "--kb", str(docs))
    assert repaired.exit_code == 0, repaired.output
    assert f"rebuilt 3 documents from {docs.resolve()}" in repaired.output
    assert [path.name for path in index_of(docs).glob("snap-*")] == ["snap-000001"]


def test_the_deskbot_command_prints_one_line_and_exits_non_zero(docs: Path) -> None:
    garbage_pointer(docs)
    environment = {**os.environ, **FAST_MODELS, "PYTHONPATH": str(REPO)}
    finished = subprocess.run(
        [sys.executable, "-c", "from bot.cli.main import run; run()", "kb", "stats", "--kb", str(docs)],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    [line] = finished.stderr.strip().splitlines()
    assert line.startswith("error: ") and "CURRENT: damaged" in line and "`deskbot kb rebuild`" in line


@pytest.mark.parametrize("state", ["garbage CURRENT", "CURRENT deleted", "truncated FAISS file"])
def test_with_the_automatic_embedder_the_damage_is_reported_and_the_rebuild_keeps_the_embedder(
    docs: Path, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`embedder = "auto"` (the default) reads which embedder built the index before the index is loaded."""
    monkeypatch.delenv("DESKBOT_KNOWLEDGE__EMBEDDER")
    monkeypatch.delenv("DESKBOT_KNOWLEDGE__EMBEDDER_MODEL")
    DAMAGE[state][0](docs)
    assert "kb rebuild" in one_line_failure(deskbot("kb", "stats", "--kb", str(docs)))
    repaired = deskbot("kb", "rebuild", "--kb", str(docs))
    assert repaired.exit_code == 0, repaired.output
    assert "0 chunks embedded, 3 vectors reused" in repaired.output  # still the hash embedder that built it


def test_a_corrupt_manifest_is_rebuilt_from_every_recorded_source(docs: Path, tmp_path: Path) -> None:
    """Files ingested from outside the documents folder are recorded beside the manifest and read again too."""
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"id": "gift-cards", "title": "Gift cards", "text": "Gift cards never expire."}\n')
    gone = tmp_path / "old.jsonl"
    gone.write_text('{"id": "old", "title": "Old", "text": "An old article."}\n')
    for path in (extra, gone):
        assert deskbot("ingest", str(path), "--kb", str(docs)).exit_code == 0
    gone.unlink()
    corrupt_manifest(docs)

    repaired = deskbot("kb", "rebuild", "--kb", str(docs))
    assert repaired.exit_code == 0, repaired.output
    assert "rebuilt 4 documents" in repaired.output
    assert f"{gone}: ingested before but gone; not rebuilt" in repaired.output
    found = deskbot("kb", "search", "gift cards expire", "--kb", str(docs), "--json")
    assert '"id": "gift-cards"' in found.stdout
