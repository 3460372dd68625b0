"""Atomic, locked snapshots of a knowledge base directory.

Layout: `DIR/CURRENT` names the live snapshot folder (`DIR/snap-000007/` with `manifest.sqlite` and
`vectors.faiss`). A writer builds the next snapshot in a temporary folder, then swaps `CURRENT` with `os.replace`:
a crash or `kill -9` at any point leaves the previous snapshot live and loadable. Writers hold `DIR/.lock`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from knowledge.errors import KnowledgeError

MANIFEST = "manifest.sqlite"
VECTORS = "vectors.faiss"


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
        pointer = self.directory / "CURRENT"
        if not pointer.exists():
            return None
        name = pointer.read_text(encoding="utf-8").strip()
        snapshot = self.directory / name
        if not name or not snapshot.is_dir():
            raise KnowledgeError(f"{pointer}: points to a missing snapshot '{name}'; run `deskbot kb rebuild`")
        return snapshot

    def begin(self, copy_current: bool = True) -> Path:
        """A fresh working folder for the next snapshot, seeded with the current manifest."""
        self._remove_stale_work()
        work = self.directory / f".work-{os.getpid()}"
        work.mkdir(parents=True)
        current = self.current()
        if copy_current and current is not None and (current / MANIFEST).exists():
            shutil.copyfile(current / MANIFEST, work / MANIFEST)
        return work

    def commit(self, work: Path) -> Path:
        """Make `work` the live snapshot; the previous one is deleted only after the swap."""
        for name in (MANIFEST, VECTORS):
            with open(work / name, "rb") as handle:
                os.fsync(handle.fileno())
        previous = self.current()
        number = int(previous.name.split("-")[1]) + 1 if previous is not None else 1
        final = self.directory / f"snap-{number:06d}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)
        pointer_tmp = self.directory / "CURRENT.tmp"
        pointer_tmp.write_text(final.name + "\n", encoding="utf-8")
        with open(pointer_tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(pointer_tmp, self.directory / "CURRENT")
        _fsync_dir(self.directory)
        for old in self.directory.glob("snap-*"):
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
        return final

    def abandon(self, work: Path) -> None:
        shutil.rmtree(work, ignore_errors=True)

    def _remove_stale_work(self) -> None:
        for stale in self.directory.glob(".work-*"):
            shutil.rmtree(stale, ignore_errors=True)
