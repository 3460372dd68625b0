"""A conversation's stored messages, as an API caller reads them back (`GET /v1/conversations/{id}/messages`).

The thread is read from the store's `messages` table by message id, so a caller that polls with `after=<the last
id it saw>` gets each message once: the customer's turns, the bot's replies and the replies an operator wrote in
the console (kind `human`, with the operator's name). Citations are the ids of the documents a reply drew on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.store.conversations import CONVERSATIONS, MESSAGES
from bot.store.database import Database, aware


@dataclass(frozen=True)
class StoredMessage:
    id: int
    role: str
    kind: str | None
    text: str
    citations: list[str]
    created_at: datetime
    operator: str | None


@dataclass(frozen=True)
class StoredThread:
    channel: str
    handed_off: bool
    messages: list[StoredMessage]


def stored_thread(database: Database, conversation_id: str, after: int = 0, limit: int = 100) -> StoredThread | None:
    """Up to `limit` messages of the conversation with an id above `after`, oldest first; None when there is no
    such conversation. Blocking; `StoreError` when the database fails."""
    columns = [MESSAGES.c.id, MESSAGES.c.role, MESSAGES.c.kind, MESSAGES.c.content, MESSAGES.c.citations]
    columns += [MESSAGES.c.created_at, MESSAGES.c.operator]  # the operator's name of a `human` reply
    messages = (
        select(*columns)
        .where(MESSAGES.c.conversation_id == conversation_id, MESSAGES.c.id > after)
        .order_by(MESSAGES.c.id)
        .limit(limit)
    )
    conversation = select(CONVERSATIONS.c.channel, CONVERSATIONS.c.handed_off).where(
        CONVERSATIONS.c.id == conversation_id
    )
    with database.transaction(f"read conversation {conversation_id}") as connection:
        found = connection.execute(conversation).first()
        if found is None:
            return None
        rows = connection.execute(messages).all()
    return StoredThread(
        channel=found.channel,
        handed_off=bool(found.handed_off),
        messages=[
            StoredMessage(
                id=row.id,
                role=row.role,
                kind=row.kind,
                text=row.content,
                citations=list(json.loads(row.citations or "[]")),
                created_at=aware(row.created_at),
                operator=row.operator,
            )
            for row in rows
        ],
    )
