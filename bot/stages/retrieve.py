"""`RetrieveStage`: finds the knowledge passages for the turn's query (the message, unless rewritten)."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from bot.engine import Next, StageInfo
from bot.services import Services
from bot.types import Reply, Turn
from knowledge.retrieval import Retriever


class RetrieveStage:
    info: ClassVar[StageInfo] = StageInfo(role="retrieval", provides=frozenset({"query", "hits"}))

    def __init__(self, retriever: Retriever, top_k: int) -> None:
        self._retriever = retriever
        self._top_k = top_k

    @classmethod
    def build(cls, services: Services) -> RetrieveStage:
        return cls(services.retriever, services.settings.knowledge.top_k)

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        turn.query = turn.query or turn.message.text
        turn.hits = await asyncio.to_thread(self._retriever.retrieve, turn.query, self._top_k)
        return await call_next(turn)
