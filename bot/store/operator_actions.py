"""`OperatorActions`: what an operator does to a conversation from the console: take it over, reply as a person,
give it back to the bot.

Taking over is a handoff like the customer's `/human` (a `handoffs` row, `conversations.handed_off`), so the bot's
`HandoffStage` keeps quiet in it the same way; releasing is `SqlConversationStore.release_handoff`. A reply as a
person is stored as the assistant's message of kind `human` with the operator's name, only while the conversation
is held by a person: checking that and storing the reply are one transaction, so a release cannot slip between
them. An unknown (or deleted) conversation is `ConversationNotFoundError`, one the bot holds
`ConversationNotHeldError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy import select as core_select

from bot.conversations import utc_now
from bot.errors import DeskbotError
from bot.store.conversations import CONVERSATIONS, HANDOFFS, MESSAGES, SqlConversationStore
from bot.store.database import Database

HUMAN_KIND = "human"


class ConversationNotFoundError(DeskbotError):
    """No conversation has that id (it never existed, or it was deleted)."""


class ConversationNotHeldError(DeskbotError):
    """The conversation is with the bot (released, or never handed off): an operator cannot reply in it."""


@dataclass(frozen=True)
class OperatorReply:
    message_id: int
    conversation_id: str
    channel: str
    text: str
    operator: str
    created_at: datetime


class OperatorActions:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._store = SqlConversationStore(database)
        database.upgrade()

    def take_over(self, conversation_id: str, operator: str) -> bool:
        """Hold the conversation for a person (the bot stays silent); False when a person held it already."""
        state = core_select(CONVERSATIONS.c.handed_off).where(CONVERSATIONS.c.id == conversation_id)
        with self._database.transaction("take over a conversation", part="operator console") as connection:
            row = connection.execute(state).first()
            if row is None:
                raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
            if row.handed_off:
                return False
            connection.execute(
                update(CONVERSATIONS).where(CONVERSATIONS.c.id == conversation_id).values(handed_off=True)
            )
            user = core_select(CONVERSATIONS.c.user_id).where(CONVERSATIONS.c.id == conversation_id).scalar_subquery()
            connection.execute(
                insert(HANDOFFS).values(
                    conversation_id=conversation_id,
                    user_id=user,
                    reason=f"taken over by {operator}",
                    requested_at=utc_now(),
                )
            )
        return True

    def release(self, conversation_id: str) -> bool:
        """Give the conversation back to the bot; False when no person held it."""
        if not self._exists(conversation_id):
            raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
        return self._store.release_handoff(conversation_id)

    def reply(self, conversation_id: str, operator: str, text: str) -> OperatorReply:
        """Store `operator`'s reply in the conversation, which a person must hold."""
        state = core_select(CONVERSATIONS.c.handed_off, CONVERSATIONS.c.channel).where(
            CONVERSATIONS.c.id == conversation_id
        )
        now = utc_now()
        with self._database.transaction("store an operator's reply", part="operator console") as connection:
            row = connection.execute(state.with_for_update()).first()
            if row is None:
                raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
            if not row.handed_off:
                raise ConversationNotHeldError(
                    f"conversation {conversation_id!r} is with the bot (released, or never handed off): "
                    "take it over before replying"
                )
            message = {
                "conversation_id": conversation_id,
                "role": "assistant",
                "content": text,
                "citations": json.dumps([]),
                "created_at": now,
                "kind": HUMAN_KIND,
                "operator": operator,
            }
            message_id = connection.execute(insert(MESSAGES).returning(MESSAGES.c.id), message).scalar_one()
            connection.execute(
                update(CONVERSATIONS).where(CONVERSATIONS.c.id == conversation_id).values(updated_at=now)
            )
        return OperatorReply(message_id, conversation_id, row.channel, text, operator, now)

    def _exists(self, conversation_id: str) -> bool:
        query = core_select(CONVERSATIONS.c.id).where(CONVERSATIONS.c.id == conversation_id)
        with self._database.transaction("find a conversation", part="operator console") as connection:
            return connection.execute(query).first() is not None
