"""`HandoffStage`: while a person handles the conversation (after `/human`), the bot keeps quiet.

The customer's messages are still stored, so the person sees the whole conversation; the reply is `silent`, which
adapters do not send. `/bot` (or `ConversationStore.release_handoff`) gives the conversation back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

from bot.conversations import ConversationStore
from bot.engine import Next, StageInfo
from bot.services import Services
from bot.store.database import StoreError
from bot.types import Reply, Turn

log = logging.getLogger(__name__)


class HandoffStage:
    info: ClassVar[StageInfo] = StageInfo(role="memory")

    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    @classmethod
    def build(cls, services: Services) -> HandoffStage:
        return cls(services.conversations)

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        message = turn.message
        try:
            handed_off = await asyncio.to_thread(self._store.handed_off, message.conversation_id)
            if handed_off:
                await asyncio.to_thread(
                    self._store.append, message.conversation_id, message.user_id, message.channel, "user", message.text
                )
        except StoreError as error:
            log.error("%s", error)
            return await call_next(turn)
        if handed_off:
            return Reply(text="", kind="silent", handoff=True, conversation_id=message.conversation_id)
        return await call_next(turn)
