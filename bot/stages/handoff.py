"""`HandoffStage`: while a person handles the conversation (after `/human`), the bot keeps quiet.

The customer's messages are still stored, so the person sees the whole conversation; the reply is `silent`, which
adapters do not send. `/bot` (or `ConversationStore.release_handoff`) gives the conversation back.

When the store fails: a conversation known to be handed off stays silent even if the message cannot be stored (the
error is logged; the person handling it may miss that message). When the handoff state itself cannot be read, the
bot answers: most conversations are not handed off, and a customer should not go unanswered because the database is
down (the history stage then answers without memory).
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

    async def warm_up(self) -> None:
        """Have the store ready before the first message (this stage reads it first on every turn)."""
        await asyncio.to_thread(self._store.warm_up)

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        message = turn.message
        try:
            handed_off = await asyncio.to_thread(self._store.handed_off, message.conversation_id)
        except StoreError as error:
            log.error(
                "answering conversation %s without knowing whether it is handed off: %s", message.conversation_id, error
            )
            return await call_next(turn)
        if not handed_off:
            return await call_next(turn)
        try:
            await asyncio.to_thread(
                self._store.append, message.conversation_id, message.user_id, message.channel, "user", message.text
            )
        except StoreError as error:
            log.error("message in handed-off conversation %s not stored: %s", message.conversation_id, error)
        return Reply(text="", kind="silent", handoff=True, conversation_id=message.conversation_id)
