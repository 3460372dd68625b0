"""`HistoryStage`: loads the conversation and the user's profile, and stores the turn before the reply leaves.

A store that is down does not cost the customer an answer: the turn goes on without memory and the error is logged.
Each reply is stored with its kind, the best retrieval score of its turn and its latency (what the operator console
filters on); by its kind a canned one (an abstention, an error) stays in the transcript but out of the history later
turns are rewritten and answered from (`ConversationStore.history`).
Facts an adapter passes as `message.metadata["profile"]` (name, plan, language) are saved to the user's profile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import ClassVar

from bot.conversations import ConversationStore
from bot.engine import Next, StageInfo
from bot.services import Services
from bot.store.database import StoreError
from bot.types import Reply, Turn

log = logging.getLogger(__name__)


class HistoryStage:
    info: ClassVar[StageInfo] = StageInfo(role="memory", provides=frozenset({"history", "profile"}))

    def __init__(self, store: ConversationStore, window: int = 12) -> None:
        self._store = store
        self._window = window

    @classmethod
    def build(cls, services: Services) -> HistoryStage:
        return cls(services.conversations, services.settings.conversation.history_messages)

    def _load(self, turn: Turn) -> None:
        message = turn.message
        facts = message.metadata.get("profile")
        if isinstance(facts, Mapping):
            self._store.update_profile(message.user_id, {str(k): str(v) for k, v in facts.items()})
        turn.profile = self._store.profile(message.user_id)
        # A caller that brings its own history (an evaluation replaying a dialogue) keeps it.
        turn.history = turn.history or self._store.history(message.conversation_id, self._window)
        self._store.append(message.conversation_id, message.user_id, message.channel, "user", message.text)

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        message = turn.message
        stored = True
        try:
            await asyncio.to_thread(self._load, turn)
        except StoreError as error:
            stored = False
            log.error("answering conversation %s without memory: %s", message.conversation_id, error)
        reply = await call_next(turn)
        if stored and reply.text and reply.kind != "silent":
            citations = [citation.id for citation in reply.citations]
            best_score = max((hit.score for hit in turn.hits), default=None)
            try:
                await asyncio.to_thread(
                    self._store.append,
                    message.conversation_id,
                    message.user_id,
                    message.channel,
                    "assistant",
                    reply.text,
                    citations,
                    reply.kind,
                    best_score,
                    round(turn.elapsed_ms(), 1),
                )
            except StoreError as error:
                log.error("reply in conversation %s not stored: %s", message.conversation_id, error)
        return reply
