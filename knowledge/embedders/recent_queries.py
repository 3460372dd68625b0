"""`RecentQueries`: the vectors of the last queries an embedder embedded, so one turn embeds its query once.

A turn embeds its search query to retrieve, and a composed answer compares the passages with the same query (and
with the question, which is that query unless the rewrite stage changed it). A model embedder's `embed_query` goes
through a `RecentQueries`, which keeps the last `size` distinct texts' vectors (least recently used out first), so
the second call costs a dictionary look-up instead of a model run (e5: about 50 ms on 2 cores). The vectors handed
out are read-only: every caller shares them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from knowledge.embedders.base import Vectors

RECENT_QUERIES = 64


class RecentQueries:
    def __init__(self, embed: Callable[[str], Vectors], size: int = RECENT_QUERIES) -> None:
        if size < 1:
            raise ValueError("RecentQueries needs room for at least one query")
        self._embed = embed
        self._size = size
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> Vectors:
        """The vector of `text`, embedded unless it is one of the recent queries."""
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
                return vector
        vector = self._embed(text)
        vector.flags.writeable = False
        with self._lock:
            self._vectors[text] = vector
            self._vectors.move_to_end(text)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return vector
