"""`Inbox`: the operator console's reading of the conversation store: conversations by filter, one thread, and the
customers' unanswered questions.

Every query reads the store's tables (`bot.store.conversations`) as they are; nothing here writes. A conversation
matches the filters when all given ones hold: `abstained` (a reply of kind `abstain`), `rated_bad` (a "bad" rating),
`handed_off` (a handoff was ever asked for, or it is with a person now), `channel`, last activity within
`since`..`until`, and `text` (a message containing it, case-insensitive). Pages come newest activity first.

An unanswered question is a customer's message whose reply abstained, handed the conversation to a person or was
rated bad; for a handoff asked by command (`/human`, the widget's button), the question is the customer's last
message before it that was not a command.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, func, or_, true
from sqlalchemy import select as core_select

from bot.question_groups import UnansweredQuestion
from bot.store.conversations import CONVERSATIONS, FEEDBACK, HANDOFFS, MESSAGES
from bot.store.database import Database, aware

MAX_PER_PAGE = 100
UNANSWERED_CONVERSATIONS = 500
"""The most recent conversations with an unanswered question that `unanswered` reads (a bound on its work)."""


@dataclass(frozen=True)
class InboxFilter:
    abstained: bool = False
    rated_bad: bool = False
    handed_off: bool = False
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    channel: str
    user_id: str
    started_at: datetime
    updated_at: datetime
    with_person: bool
    """Handed off or taken over, and not released: the bot is silent, an operator may reply."""
    messages: int
    last_question: str | None
    abstained: bool
    rated_bad: bool
    handed_off: bool


@dataclass(frozen=True)
class InboxPage:
    conversations: list[ConversationSummary]
    page: int
    per_page: int
    total: int


@dataclass(frozen=True)
class Feedback:
    rating: str
    text: str | None
    created_at: datetime


@dataclass(frozen=True)
class ThreadMessage:
    id: int
    role: str
    content: str
    created_at: datetime
    kind: str | None
    citations: list[str]
    """The ids of the knowledge documents the reply cited."""
    retrieval_score: float | None
    latency_ms: float | None
    operator: str | None
    feedback: list[Feedback] = field(default_factory=list)


@dataclass(frozen=True)
class Handoff:
    reason: str
    requested_at: datetime
    released_at: datetime | None


@dataclass(frozen=True)
class Thread:
    conversation: ConversationSummary
    messages: list[ThreadMessage]
    handoffs: list[Handoff]


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_ABSTAINED = exists().where(MESSAGES.c.conversation_id == CONVERSATIONS.c.id, MESSAGES.c.kind == "abstain")
_RATED_BAD = exists().where(FEEDBACK.c.conversation_id == CONVERSATIONS.c.id, FEEDBACK.c.rating == "bad")
_HANDED_OFF = or_(
    CONVERSATIONS.c.handed_off.is_(True), exists().where(HANDOFFS.c.conversation_id == CONVERSATIONS.c.id)
)


def _conditions(filters: InboxFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.abstained:
        conditions.append(_ABSTAINED)
    if filters.rated_bad:
        conditions.append(_RATED_BAD)
    if filters.handed_off:
        conditions.append(_HANDED_OFF)
    if filters.channel:
        conditions.append(CONVERSATIONS.c.channel == filters.channel)
    if filters.since is not None:
        conditions.append(CONVERSATIONS.c.updated_at >= filters.since)
    if filters.until is not None:
        conditions.append(CONVERSATIONS.c.updated_at < filters.until)
    if filters.text:
        containing = exists().where(
            MESSAGES.c.conversation_id == CONVERSATIONS.c.id,
            func.lower(MESSAGES.c.content).like(_like_pattern(filters.text), escape="\\"),
        )
        conditions.append(containing)
    return conditions


_LAST_QUESTION = (
    core_select(MESSAGES.c.content)
    .where(MESSAGES.c.conversation_id == CONVERSATIONS.c.id, MESSAGES.c.role == "user")
    .order_by(MESSAGES.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
_MESSAGE_COUNT = (
    core_select(func.count(MESSAGES.c.id)).where(MESSAGES.c.conversation_id == CONVERSATIONS.c.id).scalar_subquery()
)
_SUMMARY = core_select(
    CONVERSATIONS.c.id,
    CONVERSATIONS.c.channel,
    CONVERSATIONS.c.user_id,
    CONVERSATIONS.c.started_at,
    CONVERSATIONS.c.updated_at,
    CONVERSATIONS.c.handed_off,
    _MESSAGE_COUNT.label("messages"),
    _LAST_QUESTION.label("last_question"),
    _ABSTAINED.label("abstained"),
    _RATED_BAD.label("rated_bad"),
    _HANDED_OFF.label("ever_handed_off"),
)


def _summary(row: Any) -> ConversationSummary:
    return ConversationSummary(
        id=row.id,
        channel=row.channel,
        user_id=row.user_id,
        started_at=aware(row.started_at),
        updated_at=aware(row.updated_at),
        with_person=bool(row.handed_off),
        messages=int(row.messages),
        last_question=row.last_question,
        abstained=bool(row.abstained),
        rated_bad=bool(row.rated_bad),
        handed_off=bool(row.ever_handed_off),
    )


def _is_command(text: str) -> bool:
    return text.lstrip().startswith("/")


class Inbox:
    def __init__(self, database: Database) -> None:
        self._database = database
        database.upgrade()

    def conversations(self, filters: InboxFilter, page: int = 1, per_page: int = 25) -> InboxPage:
        """Page `page` (from 1) of the conversations matching `filters`, newest activity first."""
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        page = max(1, page)
        conditions = _conditions(filters)
        count = core_select(func.count()).select_from(CONVERSATIONS).where(and_(true(), *conditions))
        query = (
            _SUMMARY.where(and_(true(), *conditions))
            .order_by(CONVERSATIONS.c.updated_at.desc(), CONVERSATIONS.c.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        with self._database.transaction("list conversations", part="operator console") as connection:
            total = int(connection.execute(count).scalar_one())
            rows = connection.execute(query).all()
        return InboxPage([_summary(row) for row in rows], page, per_page, total)

    def thread(self, conversation_id: str) -> Thread | None:
        """The conversation with every message, its feedback and its handoffs; None when there is no such one."""
        with self._database.transaction("read a conversation", part="operator console") as connection:
            row = connection.execute(_SUMMARY.where(CONVERSATIONS.c.id == conversation_id)).first()
            if row is None:
                return None
            messages = self._messages(connection, conversation_id)
            handoffs = connection.execute(
                core_select(HANDOFFS.c.reason, HANDOFFS.c.requested_at, HANDOFFS.c.released_at)
                .where(HANDOFFS.c.conversation_id == conversation_id)
                .order_by(HANDOFFS.c.id)
            ).all()
        return Thread(
            _summary(row),
            messages,
            [
                Handoff(h.reason, aware(h.requested_at), aware(h.released_at) if h.released_at else None)
                for h in handoffs
            ],
        )

    @staticmethod
    def _messages(connection: Connection, conversation_id: str, after: int = 0) -> list[ThreadMessage]:
        rows = connection.execute(
            core_select(MESSAGES)
            .where(MESSAGES.c.conversation_id == conversation_id, MESSAGES.c.id > after)
            .order_by(MESSAGES.c.id)
        ).all()
        feedback: dict[int, list[Feedback]] = {}
        for rating in connection.execute(
            core_select(FEEDBACK.c.message_id, FEEDBACK.c.rating, FEEDBACK.c.text, FEEDBACK.c.created_at)
            .where(FEEDBACK.c.conversation_id == conversation_id)
            .order_by(FEEDBACK.c.id)
        ):
            feedback.setdefault(rating.message_id, []).append(
                Feedback(rating.rating, rating.text, aware(rating.created_at))
            )
        return [
            ThreadMessage(
                id=row.id,
                role=row.role,
                content=row.content,
                created_at=aware(row.created_at),
                kind=row.kind,
                citations=[str(doc_id) for doc_id in json.loads(row.citations or "[]")],
                retrieval_score=row.retrieval_score,
                latency_ms=row.latency_ms,
                operator=row.operator,
                feedback=feedback.get(row.id, []),
            )
            for row in rows
            if row.role in {"user", "assistant"}
        ]

    def has_message(self, conversation_id: str, message_id: int) -> bool:
        query = core_select(MESSAGES.c.id).where(
            MESSAGES.c.id == message_id, MESSAGES.c.conversation_id == conversation_id
        )
        with self._database.transaction("find a message", part="operator console") as connection:
            return connection.execute(query).first() is not None

    def messages_after(self, conversation_id: str, after: int = 0) -> tuple[list[ThreadMessage], bool] | None:
        """The conversation's messages after the message id `after`, and whether it is with a person now; None when
        there is no such conversation (the widget's history: `adapters.http.widget_routes`)."""
        held = core_select(CONVERSATIONS.c.handed_off).where(CONVERSATIONS.c.id == conversation_id)
        with self._database.transaction("read a conversation", part="conversation store") as connection:
            with_person = connection.execute(held).first()
            if with_person is None:
                return None
            return self._messages(connection, conversation_id, after), bool(with_person[0])

    def unanswered(self, since: datetime | None = None) -> list[UnansweredQuestion]:
        """The customers' questions that went unanswered (module docstring), asked since `since` when given, in the
        most recent conversations that have one (at most `UNANSWERED_CONVERSATIONS`)."""
        abstained = core_select(MESSAGES.c.conversation_id.label("id"), MESSAGES.c.created_at.label("at")).where(
            MESSAGES.c.kind == "abstain"
        )
        rated = core_select(FEEDBACK.c.conversation_id.label("id"), FEEDBACK.c.created_at.label("at")).where(
            FEEDBACK.c.rating == "bad"
        )
        handed = core_select(HANDOFFS.c.conversation_id.label("id"), HANDOFFS.c.requested_at.label("at"))
        events = abstained.union_all(rated, handed).subquery()
        recent = (
            core_select(events.c.id)
            .where(true() if since is None else events.c.at >= since)
            .group_by(events.c.id)
            .order_by(func.max(events.c.at).desc())
            .limit(UNANSWERED_CONVERSATIONS)
        )
        with self._database.transaction("find unanswered questions", part="operator console") as connection:
            ids = [row[0] for row in connection.execute(recent)]
            if not ids:
                return []
            rows = connection.execute(
                core_select(
                    MESSAGES.c.id,
                    MESSAGES.c.conversation_id,
                    MESSAGES.c.role,
                    MESSAGES.c.content,
                    MESSAGES.c.kind,
                    MESSAGES.c.created_at,
                )
                .where(MESSAGES.c.conversation_id.in_(ids))
                .order_by(MESSAGES.c.conversation_id, MESSAGES.c.id)
            ).all()
            bad = core_select(FEEDBACK.c.message_id).where(
                FEEDBACK.c.conversation_id.in_(ids), FEEDBACK.c.rating == "bad"
            )
            rated_bad = {row[0] for row in connection.execute(bad)}
            handoffs: dict[str, list[datetime]] = {}
            for row in connection.execute(
                core_select(HANDOFFS.c.conversation_id, HANDOFFS.c.requested_at).where(
                    HANDOFFS.c.conversation_id.in_(ids)
                )
            ):
                handoffs.setdefault(row.conversation_id, []).append(aware(row.requested_at))
        found = _unanswered_questions(rows, rated_bad, handoffs)
        return [question for question in found if since is None or question.asked_at >= since]


def _unanswered_questions(
    rows: Sequence[Any], rated_bad: set[int], handoffs: dict[str, list[datetime]]
) -> list[UnansweredQuestion]:
    """Each conversation's messages in order (`rows`), each reply paired with the question it answered; a handoff
    (asked by command, so not a stored reply) with the last question before it."""
    by_conversation: dict[str, list[Any]] = {}
    for row in rows:
        by_conversation.setdefault(row.conversation_id, []).append(row)
    found: list[UnansweredQuestion] = []
    for conversation_id, messages in by_conversation.items():
        questions = [m for m in messages if m.role == "user" and not _is_command(m.content)]
        why_of: dict[int, str] = {}
        question = None
        for message in messages:
            if message.role == "user":
                question = question if _is_command(message.content) else message
            elif question is not None:
                if message.id in rated_bad:
                    why_of.setdefault(question.id, "rated bad")
                elif message.kind in {"abstain", "handoff"}:
                    why_of.setdefault(question.id, "abstained" if message.kind == "abstain" else "handed off")
        for requested_at in handoffs.get(conversation_id, []):
            before = [q for q in questions if aware(q.created_at) <= requested_at]
            if before:
                why_of.setdefault(before[-1].id, "handed off")
        found.extend(
            UnansweredQuestion(q.content, conversation_id, q.id, aware(q.created_at), why_of[q.id])
            for q in questions
            if q.id in why_of
        )
    return found
