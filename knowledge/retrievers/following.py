"""`FollowingRetriever`: a retriever that follows the live snapshot of a knowledge base another process writes.

One `deskbot ingest` job writes the index folder; every serving instance reads it (a shared volume, possibly
read-only). Before a search, at most once every `reload_interval_s`, the retriever reads `CURRENT` (a few bytes).
When it names another snapshot, a new `KnowledgeStore` is loaded from it and a new inner retriever (dense or
hybrid, from `build`) is made over that store; the reference is then swapped. A search already running keeps the
store it started with, which is never changed in place, and the retrieve stage searches once per turn, so a turn
sees one snapshot and the next turn the new one.

A loaded store holds the whole snapshot in memory (the manifest is read into dicts, `faiss.read_index` reads the
file), so the writer deleting the old snapshot folder after its swap cannot harm a reader. The only window is a
snapshot deleted while it is being loaded: then `CURRENT` has moved on, and the newer snapshot is loaded at once.
A snapshot that cannot be loaded (damaged, built with another embedder) leaves the loaded one serving, with one
warning per snapshot name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from knowledge.documents import SearchHit
from knowledge.errors import KnowledgeError
from knowledge.retrieval import Retriever
from knowledge.store import KnowledgeStore

log = logging.getLogger(__name__)

RetrieverFactory = Callable[[KnowledgeStore], Retriever]


class FollowingRetriever:
    def __init__(
        self,
        store: KnowledgeStore,
        build: RetrieverFactory,
        reload_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build
        self._interval = reload_interval_s
        self._clock = clock
        self._serving: tuple[KnowledgeStore, Retriever] = (store, build(store))
        self._checked_at = clock()
        self._refused: set[str] = set()
        self._reloading = threading.Lock()

    @property
    def store(self) -> KnowledgeStore:
        """The store searches run over now (the last snapshot loaded)."""
        return self._serving[0]

    @property
    def searching(self) -> Retriever:
        """The retriever over `store` that searches are handed to (dense or hybrid, from `build`)."""
        return self._serving[1]

    def retrieve(self, query: str, top_k: int = 5, filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        self.follow()
        _store, retriever = self._serving
        return retriever.retrieve(query, top_k, filters)

    def follow(self) -> None:
        """Load the live snapshot when `CURRENT` names another one; at most once every interval, one thread at a
        time (the others search the loaded snapshot meanwhile)."""
        if self._clock() - self._checked_at < self._interval or not self._reloading.acquire(blocking=False):
            return
        try:
            self._checked_at = self._clock()
            self._load_live_snapshot()
        finally:
            self._reloading.release()

    def _load_live_snapshot(self) -> None:
        store = self.store
        for _attempt in range(3):  # a snapshot deleted under the load has been replaced: load the newer one
            try:
                live = store.snapshots.current()
            except KnowledgeError as error:
                self._warn_once("CURRENT", error)
                return
            self._refused.discard("CURRENT")
            if live is None or live.name == store.revision or live.name in self._refused:
                return
            try:
                loaded = KnowledgeStore(store.directory, store.embedder, store.index_type)
            except KnowledgeError as error:
                if _still_live(store, live.name):
                    self._warn_once(live.name, error)
                    return
                continue
            self._serving = (loaded, self._build(loaded))
            log.info("knowledge: now serving snapshot %s of %s", loaded.revision, store.directory)
            return

    def _warn_once(self, name: str, error: KnowledgeError) -> None:
        if name not in self._refused:
            self._refused.add(name)
            log.warning("knowledge: still serving snapshot %s; the new one is refused: %s", self.store.revision, error)


def _still_live(store: KnowledgeStore, name: str) -> bool:
    try:
        live = store.snapshots.current()
    except KnowledgeError:
        return True
    return live is not None and live.name == name
