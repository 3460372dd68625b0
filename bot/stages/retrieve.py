"""`RetrieveStage`: finds the knowledge passages for the turn's query (the message, unless rewritten)."""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

from bot.engine import Next, StageInfo
from bot.services import Services
from bot.types import Reply, Turn
from knowledge.retrieval import Retriever

log = logging.getLogger(__name__)
WARM_UP_QUERY = "help"


class RetrieveStage:
    info: ClassVar[StageInfo] = StageInfo(role="retrieval", provides=frozenset({"query", "hits"}))

    def __init__(self, retriever: Retriever, top_k: int) -> None:
        self._retriever = retriever
        self._top_k = top_k

    @classmethod
    def build(cls, services: Services) -> RetrieveStage:
        return cls(services.retriever, services.settings.knowledge.top_k)

    async def warm_up(self) -> None:
        """Search once before the first message, so that what retrieval builds on first use (the BM25 index over
        every chunk, the Chinese word dictionary, the index's pages read from disk: seconds on a large knowledge
        base) is not waited for by the first customer. A failure is logged, not raised: the turns that meet it
        handle it as they always do."""
        try:
            await asyncio.to_thread(self._retriever.retrieve, WARM_UP_QUERY, 1)
        except Exception as error:  # the first turn meets the same error and answers it
            log.warning("retrieval could not warm up: %s", error)

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        turn.query = turn.query or turn.message.text
        turn.hits = await asyncio.to_thread(self._retriever.retrieve, turn.query, self._top_k)
        return await call_next(turn)
