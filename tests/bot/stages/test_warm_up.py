"""What the first turn would wait for is prepared when the engine warms up: the BM25 index over the knowledge and
the conversation store's schema. A failure there is logged; the turns meet it as before."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from bot.conversations import InMemoryConversationStore
from bot.runtime import Runtime
from bot.stages.handoff import HandoffStage
from bot.stages.retrieve import WARM_UP_QUERY, RetrieveStage
from knowledge.documents import SearchHit
from knowledge.errors import KnowledgeError


class RecordingRetriever:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.error = error

    def retrieve(self, query: str, top_k: int = 5, filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        self.calls.append((query, top_k))
        if self.error is not None:
            raise self.error
        return []


async def test_retrieval_searches_once_at_warm_up_and_a_failure_is_only_logged(caplog) -> None:
    retriever = RecordingRetriever()
    await RetrieveStage(retriever, 5).warm_up()
    assert retriever.calls == [(WARM_UP_QUERY, 1)]
    broken = RecordingRetriever(KnowledgeError("index unreadable"))
    await RetrieveStage(broken, 5).warm_up()
    assert "retrieval could not warm up: index unreadable" in caplog.text


async def test_the_handoff_stage_has_the_store_warm_up() -> None:
    class CountingStore(InMemoryConversationStore):
        warmed = 0

        def warm_up(self) -> None:
            self.warmed += 1

    store = CountingStore()
    await HandoffStage(store).warm_up()
    assert store.warmed == 1


@pytest.mark.parametrize("warm", [True, False])
async def test_the_engine_builds_the_bm25_index_before_the_first_message(runtime: Runtime, warm: bool) -> None:
    engine = runtime.engine()
    if warm:
        await engine.warm_up()
    lexical = runtime.retriever().searching.lexical  # type: ignore[attr-defined]
    assert (lexical._lexical is not None) == warm  # built by warm-up, else only by the first search
