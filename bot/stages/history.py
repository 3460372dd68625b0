"""`HistoryStage`: loads the conversation before the turn and stores the turn before the reply leaves."""

from __future__ import annotations

from bot.engine import Next
from bot.services import Services
from bot.types import Reply, Turn


class HistoryStage:
    def __init__(self, services: Services, window: int = 12) -> None:
        self._store = services.conversations
        self._window = window

    @classmethod
    def build(cls, services: Services) -> HistoryStage:
        return cls(services)

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        message = turn.message
        turn.history = self._store.history(message.conversation_id, self._window)
        self._store.append(message.conversation_id, message.user_id, message.channel, "user", message.text)
        reply = await call_next(turn)
        if reply.text and reply.kind != "silent":
            self._store.append(message.conversation_id, message.user_id, message.channel, "assistant", reply.text)
        return reply
