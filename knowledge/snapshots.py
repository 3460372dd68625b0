"""Atomic, locked snapshots of a knowledge base directory.

Layout: `DIR/CURRENT` names the live snapshot folder (`DIR/snap-000007/` with `manifest.sqlite`, `vectors.faiss` and
`ingested.txt`, the paths syncs have read). A writer builds the next snapshot in a temporary folder, then swaps
`CURRENT` with `os.replace`: a crash or `kill -9` at any point leaves the previous snapshot live and loadable.
Writers hold `DIR/.lock`.

A damaged pointer is an error, never an empty index: `CURRENT` with bytes that are not a snapshot name, naming a
snapshot that is gone, or missing while snapshot folders remain (a new snapshot would otherwise be numbered 1 and
replace the old one, embedding cache and all). `kb rebuild` recovers from `recovery_candidates()`: the snapshot
`CURRENT` names when it is intact, then the others, newest first. A new snapshot is numbered after the highest one
on disk, so no commit ever replaces a folder it did not build. When no manifest can be read, `ingested_paths()` (a
plain text file beside it, carried from snapshot to snapshot) says what to read again.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from knowledge.errors import IndexCorruptError, KnowledgeError

MANIFEST = "manifest.sqlite"
VECTORS = "vectors.faiss"
INGESTED = "ingested.txt"
"""One absolute path a line: every folder or file a sync has read into this knowledge base."""
SNAPSHOT_NAME = re.compile(r"snap-(\d{6,})")
REBUILD_HINT = "run `deskbot kb rebuild`"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SnapshotStore:
    def __init__(self, directory: Path, lock_timeout_s: float = 600.0) -> None:
        self.directory = directory
        self._lock_timeout_s = lock_timeout_s

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.directory / ".lock"))
        try:
            lock.acquire(timeout=self._lock_timeout_s)
        except Timeout as error:
            raise KnowledgeError(f"{self.directory}: another process is writing this knowledge base") from error
        try:
            yield
        finally:
            lock.release()

    def current(self) -> Path | None:
        """The live snapshot folder, or None for a knowledge base that was never written."""
        pointer = self.directory / "CURRENT"
        try:
            raw = pointer.read_bytes()
        except FileNotFoundError:
            left = self.snapshot_folders()
            if left:
                raise IndexCorruptError(
                    f"{pointer}: missing, but snapshot {left[0].name} is still there; {REBUILD_HINT}"
                ) from None
            return None
        except OSError as error:
            raise IndexCorruptError(f"{pointer}: cannot be read ({error.strerror})") from error
        name = self._pointed_name(raw)
        if name is None:
            raise IndexCorruptError(f"{pointer}: damaged (it does not name a snapshot); {REBUILD_HINT}")
        snapshot = self.directory / name
        if not snapshot.is_dir():
            raise IndexCorruptError(f"{pointer}: points to a missing snapshot '{name}'; {REBUILD_HINT}")
        return snapshot

    @staticmethod
    def _pointed_name(raw: bytes) -> str | None:
        try:
            name = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            return None
        return name if SNAPSHOT_NAME.fullmatch(name) else None

    def snapshot_folders(self) -> list[Path]:
        """Every snapshot folder on disk, newest (highest number) first."""
        folders = [path for path in self.directory.glob("snap-*") if SNAPSHOT_NAME.fullmatch(path.name)]
        return sorted((path for path in folders if path.is_dir()), key=_snapshot_number, reverse=True)

    def recovery_candidates(self) -> list[Path]:
        """Snapshots to rebuild from, best first: the one `CURRENT` names (when it can be read), then the rest."""
        folders = self.snapshot_folders()
        try:
            pointed = self.current()
        except IndexCorruptError:
            pointed = None
        if pointed is None:
            return folders
        return [pointed, *(folder for folder in folders if folder != pointed)]

    def discard(self) -> None:
        """Remove every snapshot and the pointer: the folder then holds an empty knowledge base (lock held)."""
        (self.directory / "CURRENT").unlink(missing_ok=True)
        for folder in self.snapshot_folders():
            shutil.rmtree(folder)
        self._remove_stale_work()

    def begin(self, copy_current: bool = True) -> Path:
        """A fresh working folder for the next snapshot, seeded with the current manifest."""
        self._remove_stale_work()
        work = self.directory / f".work-{os.getpid()}"
        work.mkdir(parents=True)
        current = self.current() if copy_current else None
        for name in (MANIFEST, INGESTED):
            if current is not None and (current / name).exists():
                shutil.copyfile(current / name, work / name)
        return work

    def ingested_paths(self) -> list[Path]:
        """The paths the newest readable record lists (see `INGESTED`), from the first recovery candidate with one."""
        for snapshot in self.recovery_candidates():
            try:
                text = (snapshot / INGESTED).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            return [Path(line) for line in text.splitlines() if line.strip()]
        return []

    def commit(self, work: Path) -> Path:
        """Make `work` the live snapshot; the previous one is deleted only after the swap."""
        for name in (MANIFEST, VECTORS, INGESTED):
            if name == INGESTED and not (work / name).exists():
                continue
            with open(work / name, "rb") as handle:
                os.fsync(handle.fileno())
        existing = self.snapshot_folders()
        number = _snapshot_number(existing[0]) + 1 if existing else 1
        final = self.directory / f"snap-{number:06d}"
        os.replace(work, final)
        pointer_tmp = self.directory / "CURRENT.tmp"
        pointer_tmp.write_text(final.name + "\n", encoding="utf-8")
        with open(pointer_tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(pointer_tmp, self.directory / "CURRENT")
        _fsync_dir(self.directory)
        for old in self.snapshot_folders():
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
        return final

    def abandon(self, work: Path) -> None:
        shutil.rmtree(work, ignore_errors=True)

    def _remove_stale_work(self) -> None:
        for stale in self.directory.glob(".work-*"):
            shutil.rmtree(stale, ignore_errors=True)


def _snapshot_number(folder: Path) -> int:
    return int(folder.name.partition("-")[2])


def record_ingested(work: Path, paths: Iterable[Path]) -> None:
    """Add `paths` (resolved) to the work folder's `INGESTED` record, which `begin` seeded from the live snapshot."""
    record = work / INGESTED
    known = set(record.read_text(encoding="utf-8").splitlines()) if record.exists() else set()
    lines = sorted((known | {str(path.resolve()) for path in paths}) - {""})
    record.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
