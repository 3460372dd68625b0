"""`SqlConversationStore`: conversations, messages, feedback, handoffs and user profiles in Deskbot's database.

SQLite by default, Postgres by `[store] url`. Any database failure becomes a `StoreError` with a one-line message, so
stages can degrade (answer without memory) instead of failing the turn.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, delete, insert, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Field, Session, col, select

from bot.config import Settings
from bot.conversations import PROFILE_FACTS, REMEMBERED_KINDS, Rating, export_message, export_record, utc_now
from bot.errors import DeskbotError
from bot.store.database import Database, StoreError, StoreTable, aware
from bot.types import ChatMessage, ReplyKind, Role

log = logging.getLogger(__name__)

T = TypeVar("T")


class ConversationRow(StoreTable, table=True):
    __tablename__ = "conversations"

    id: str = Field(primary_key=True, max_length=200)
    user_id: str = Field(index=True, max_length=200)
    channel: str = Field(max_length=50)
    started_at: datetime
    updated_at: datetime = Field(index=True)
    reset_after: int = 0
    handed_off: bool = False


class MessageRow(StoreTable, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=200, ondelete="CASCADE")
    role: str = Field(max_length=20)
    content: str
    citations: str = "[]"
    created_at: datetime
    # A bot reply's `ReplyKind`, the best retrieval score of its turn and its latency; null for the customer's.
    kind: str | None = Field(default=None, max_length=20)
    retrieval_score: float | None = None
    latency_ms: float | None = None
    # The operator who wrote a reply of kind "human" in the console (`bot.store.operator_replies`); null otherwise.
    operator: str | None = Field(default=None, max_length=64)


class FeedbackRow(StoreTable, table=True):
    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True, ondelete="CASCADE")
    conversation_id: str = Field(index=True, max_length=200)
    user_id: str = Field(max_length=200)
    rating: str = Field(max_length=10)
    text: str | None = None
    created_at: datetime


class HandoffRow(StoreTable, table=True):
    __tablename__ = "handoffs"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=200, ondelete="CASCADE")
    user_id: str = Field(max_length=200)
    reason: str = ""
    requested_at: datetime
    released_at: datetime | None = None


class UserProfileRow(StoreTable, table=True):
    __tablename__ = "user_profiles"

    user_id: str = Field(primary_key=True, max_length=200)
    name: str | None = None
    plan: str | None = None
    language: str | None = None
    updated_at: datetime


CONVERSATIONS: Table = ConversationRow.__table__  # type: ignore[attr-defined]
MESSAGES: Table = MessageRow.__table__  # type: ignore[attr-defined]
PROFILES: Table = UserProfileRow.__table__  # type: ignore[attr-defined]
FEEDBACK: Table = FeedbackRow.__table__  # type: ignore[attr-defined]
HANDOFFS: Table = HandoffRow.__table__  # type: ignore[attr-defined]


class SqlConversationStore:
    """The schema is upgraded on first use (`Database.upgrade`), so a database that is down at start only degrades the
    turns that need it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._tables_ready = False

    @classmethod
    def from_settings(cls, settings: Settings, database: Database | None = None) -> SqlConversationStore:
        """The configured store, with conversations idle longer than `conversation.retention_days` deleted; on
        `database` (the process's one engine for the store's URL, `Runtime.database`) when given."""
        store = cls(database or Database.from_settings(settings))
        retention = settings.conversation.retention_days
        if retention is not None:
            try:
                purged = store.purge(utc_now() - timedelta(days=retention))
                log.info("deleted %d conversations idle for more than %d days", purged, retention)
            except StoreError as error:
                log.error("%s", error)
        return store

    def warm_up(self) -> None:
        """Upgrade the schema now, so that the first turn does not wait for it (importing Alembic and checking the
        revision: 0.2 s warm, about 1 s from a cold disk). A database that is down or at an unknown revision is
        logged, and the turns that need it try again as they always did."""
        try:
            self._ensure_tables()
        except DeskbotError as error:  # a StoreError, or the schema's SchemaError (imported lazily, with Alembic)
            log.error("conversation store not ready at start: %s", error)

    def _ensure_tables(self) -> None:
        if not self._tables_ready:
            self.database.upgrade()  # thread- and process-safe
            self._tables_ready = True

    def _run(self, what: str, work: Callable[[Session], T]) -> T:
        """`work` in one ORM session and transaction (the rarer operations: handoffs, feedback, export)."""
        try:
            self._ensure_tables()
            with self.database.session() as session:
                result = work(session)
                session.commit()
                return result
        except SQLAlchemyError as error:
            raise StoreError(f"conversation store: cannot {what} ({error.__class__.__name__})") from error

    def _run_sql(self, what: str, work: Callable[[Connection], T]) -> T:
        """`work` in one transaction on a plain connection: the statements every turn runs, without ORM overhead."""
        self._ensure_tables()
        with self.database.transaction(what, part="conversation store") as connection:
            return work(connection)

    @staticmethod
    def _touch_conversation(
        connection: Connection, conversation_id: str, user_id: str, channel: str, now: datetime
    ) -> None:
        """Mark the conversation active at `now`, creating it on its first message (race-safe across workers)."""
        touch = update(CONVERSATIONS).where(CONVERSATIONS.c.id == conversation_id).values(updated_at=now)
        if connection.execute(touch).rowcount:
            return
        row = {"id": conversation_id, "user_id": user_id, "channel": channel, "started_at": now, "updated_at": now}
        try:
            with connection.begin_nested():
                connection.execute(insert(CONVERSATIONS).values(reset_after=0, handed_off=False), row)
        except IntegrityError:  # another worker created it between our update and insert
            connection.execute(touch)

    @staticmethod
    def _conversation(
        session: Session, conversation_id: str, user_id: str, channel: str, now: datetime
    ) -> ConversationRow:
        row = session.get(ConversationRow, conversation_id)
        if row is None:
            row = ConversationRow(id=conversation_id, user_id=user_id, channel=channel, started_at=now, updated_at=now)
            session.add(row)
            session.flush()
        return row

    def history(self, conversation_id: str, limit: int = 20) -> list[ChatMessage]:
        if limit <= 0:
            return []

        reset_after = (
            core_select(CONVERSATIONS.c.reset_after).where(CONVERSATIONS.c.id == conversation_id).scalar_subquery()
        )
        query = (
            core_select(MESSAGES.c.role, MESSAGES.c.content)
            .where(
                MESSAGES.c.conversation_id == conversation_id,
                MESSAGES.c.id > reset_after,
                or_(MESSAGES.c.kind.is_(None), MESSAGES.c.kind.in_(REMEMBERED_KINDS)),
            )
            .order_by(MESSAGES.c.id.desc())
            .limit(limit)
        )

        def work(connection: Connection) -> list[ChatMessage]:
            rows = connection.execute(query).all()
            return [ChatMessage(role, content) for role, content in reversed(rows)]

        return self._run_sql("read the history", work)

    def append(
        self,
        conversation_id: str,
        user_id: str,
        channel: str,
        role: Role,
        content: str,
        citations: Sequence[str] = (),
        kind: ReplyKind | None = None,
        retrieval_score: float | None = None,
        latency_ms: float | None = None,
    ) -> None:
        def work(connection: Connection) -> None:
            now = utc_now()
            self._touch_conversation(connection, conversation_id, user_id, channel, now)
            message = {
                "role": role,
                "content": content,
                "citations": json.dumps(list(citations)),
                "created_at": now,
                "kind": kind,
                "retrieval_score": retrieval_score,
                "latency_ms": latency_ms,
            }
            connection.execute(insert(MESSAGES).values(conversation_id=conversation_id), message)

        self._run_sql("store a message", work)

    def reset(self, conversation_id: str) -> None:
        def work(session: Session) -> None:
            last = session.exec(
                select(MessageRow.id)
                .where(MessageRow.conversation_id == conversation_id)
                .order_by(col(MessageRow.id).desc())
                .limit(1)
            ).first()
            if last is not None:
                session.exec(  # type: ignore[call-overload]
                    update(ConversationRow).where(col(ConversationRow.id) == conversation_id).values(reset_after=last)
                )

        self._run("reset the conversation", work)

    def rate_last_answer(self, conversation_id: str, user_id: str, rating: Rating, text: str | None = None) -> bool:
        def work(session: Session) -> bool:
            message_id = session.exec(
                select(MessageRow.id)
                .where(MessageRow.conversation_id == conversation_id, MessageRow.role == "assistant")
                .order_by(col(MessageRow.id).desc())
                .limit(1)
            ).first()
            if message_id is None:
                return False
            session.add(
                FeedbackRow(
                    message_id=message_id,
                    conversation_id=conversation_id,
                    user_id=user_id,
                    rating=rating,
                    text=text or None,
                    created_at=utc_now(),
                )
            )
            return True

        return self._run("store feedback", work)

    def start_handoff(self, conversation_id: str, user_id: str, channel: str, reason: str = "") -> None:
        def work(session: Session) -> None:
            now = utc_now()
            conversation = self._conversation(session, conversation_id, user_id, channel, now)
            if not conversation.handed_off:
                conversation.handed_off = True
                session.add(
                    HandoffRow(conversation_id=conversation_id, user_id=user_id, reason=reason, requested_at=now)
                )

        self._run("start a handoff", work)

    def release_handoff(self, conversation_id: str) -> bool:
        def work(session: Session) -> bool:
            conversation = session.get(ConversationRow, conversation_id)
            if conversation is None or not conversation.handed_off:
                return False
            conversation.handed_off = False
            open_handoffs = session.exec(
                select(HandoffRow).where(
                    HandoffRow.conversation_id == conversation_id, col(HandoffRow.released_at).is_(None)
                )
            ).all()
            for handoff in open_handoffs:
                handoff.released_at = utc_now()
                session.add(handoff)
            return True

        return self._run("release a handoff", work)

    def handed_off(self, conversation_id: str) -> bool:
        query = core_select(CONVERSATIONS.c.handed_off).where(CONVERSATIONS.c.id == conversation_id)
        return self._run_sql("read the handoff state", lambda connection: bool(connection.execute(query).scalar()))

    def profile(self, user_id: str) -> dict[str, str]:
        query = core_select(*(PROFILES.c[fact] for fact in PROFILE_FACTS)).where(PROFILES.c.user_id == user_id)

        def work(connection: Connection) -> dict[str, str]:
            row = connection.execute(query).first()
            if row is None:
                return {}
            return {fact: value for fact, value in zip(PROFILE_FACTS, row, strict=True) if value}

        return self._run_sql("read a user profile", work)

    def update_profile(self, user_id: str, facts: Mapping[str, str]) -> None:
        known = {key: str(value) for key, value in facts.items() if key in PROFILE_FACTS and value}
        if not known:
            return

        def work(session: Session) -> None:
            row = session.get(UserProfileRow, user_id) or UserProfileRow(user_id=user_id, updated_at=utc_now())
            for key, value in known.items():
                setattr(row, key, value)
            row.updated_at = utc_now()
            session.add(row)

        self._run("update a user profile", work)

    def purge(self, older_than: datetime) -> int:
        def work(session: Session) -> int:
            stale = list(
                session.exec(select(ConversationRow.id).where(col(ConversationRow.updated_at) < older_than)).all()
            )
            if stale:
                messages = select(MessageRow.id).where(col(MessageRow.conversation_id).in_(stale))
                session.exec(delete(FeedbackRow).where(col(FeedbackRow.message_id).in_(messages)))  # type: ignore[call-overload]
                session.exec(delete(MessageRow).where(col(MessageRow.conversation_id).in_(stale)))  # type: ignore[call-overload]
                session.exec(delete(HandoffRow).where(col(HandoffRow.conversation_id).in_(stale)))  # type: ignore[call-overload]
                session.exec(delete(ConversationRow).where(col(ConversationRow.id).in_(stale)))  # type: ignore[call-overload]
            return len(stale)

        return self._run("delete old conversations", work)

    def export(self, rated_only: bool = False) -> Iterator[dict[str, Any]]:
        """Conversations one at a time, so a large export does not sit in memory."""

        def conversation_ids(session: Session) -> list[str]:
            query = select(ConversationRow.id).order_by(col(ConversationRow.started_at), col(ConversationRow.id))
            if rated_only:
                query = query.where(col(ConversationRow.id).in_(select(FeedbackRow.conversation_id)))
            return list(session.exec(query).all())

        for conversation_id in self._run("list conversations", conversation_ids):
            record = self._run("export a conversation", functools.partial(self._export_one, cid=conversation_id))
            if record is not None:
                yield record

    @staticmethod
    def _export_one(session: Session, cid: str) -> dict[str, Any] | None:
        conversation = session.get(ConversationRow, cid)
        if conversation is None:
            return None
        rows = session.exec(
            select(MessageRow).where(MessageRow.conversation_id == cid).order_by(col(MessageRow.id))
        ).all()
        latest: dict[int, FeedbackRow] = {}
        for feedback in session.exec(
            select(FeedbackRow).where(FeedbackRow.conversation_id == cid).order_by(col(FeedbackRow.id))
        ).all():
            latest[feedback.message_id] = feedback
        messages = []
        for row in rows:
            if row.role not in {"user", "assistant"}:
                continue
            feedback_row = latest.get(row.id or 0)
            messages.append(
                export_message(
                    row.role,
                    row.content,
                    aware(row.created_at),
                    feedback_row.rating if feedback_row else None,
                    feedback_row.text if feedback_row else None,
                    json.loads(row.citations),
                    row.kind,
                    row.retrieval_score,
                    row.latency_ms,
                )
            )
        return export_record(
            conversation.id, conversation.user_id, conversation.channel, aware(conversation.started_at), messages
        )
