"""Conversation memory: the `ConversationStore` protocol and an in-process implementation.

The database-backed store (`bot.store.conversations.SqlConversationStore`) is the one `Runtime` uses; this in-memory
one serves single-process demos and tests, and both pass the same conformance test. Every method is blocking: stages
call them through `asyncio.to_thread`.

Exported conversations (`deskbot export conversations`, read by the fine-tuning module) have this shape, one per line:
`{"conversation_id", "user_id", "channel", "started_at", "messages": [{"role", "content", "created_at", "rating",
"feedback", "citations", "kind", "retrieval_score", "latency_ms"}]}`, where `kind` is the reply's kind for the bot's
messages (`ReplyKind`; null for the customer's, and for replies stored before kinds were), `retrieval_score` the best
retrieval score of the passages the turn found (null when it searched nothing) and `latency_ms` how long the bot took
to reply (both null for the customer's messages and for replies stored before they were recorded).

The transcript keeps every reply the bot sent, but its memory (`history`) keeps only its answers: canned replies
(an abstention, a command's or guard's reply, an error) say nothing about the conversation's topic, and fed back
to the query rewriter or the model they would steer the next turn.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from bot.types import ChatMessage, ReplyKind, Role

Rating = Literal["good", "bad"]
PROFILE_FACTS = ("name", "plan", "language")
# The replies that `history` returns (the bot's answers and a person's, so the bot knows what was said after a
# release); other kinds are canned replies, kept in the transcript only.
REMEMBERED_KINDS: tuple[ReplyKind, ...] = ("answer", "composed", "faq", "human")


def utc_now() -> datetime:
    return datetime.now(UTC)


@runtime_checkable
class ConversationStore(Protocol):
    def history(self, conversation_id: str, limit: int = 20) -> list[ChatMessage]:
        """The last `limit` messages of the conversation since its last reset, oldest first: the customer's and the
        bot's answers (`REMEMBERED_KINDS`), without its canned replies."""
        ...

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
        """Store one message (creating the conversation on its first message); for a bot reply, `kind` is its kind,
        `retrieval_score` the best score of the passages its turn retrieved and `latency_ms` how long it took."""
        ...

    def reset(self, conversation_id: str) -> None:
        """Forget the conversation's messages for the bot (the user asked to start over)."""
        ...

    def rate_last_answer(self, conversation_id: str, user_id: str, rating: Rating, text: str | None = None) -> bool:
        """Attach feedback to the conversation's last assistant message; False when there is none."""
        ...

    def start_handoff(self, conversation_id: str, user_id: str, channel: str, reason: str = "") -> None:
        """Mark the conversation as handed to a person; the bot stays silent in it until released."""
        ...

    def release_handoff(self, conversation_id: str) -> bool:
        """Give the conversation back to the bot; False when it was not handed off."""
        ...

    def handed_off(self, conversation_id: str) -> bool: ...

    def warm_up(self) -> None:
        """Prepare what the first turn would otherwise wait for (a database's schema check); never raises."""
        ...

    def profile(self, user_id: str) -> dict[str, str]:
        """Known facts about the user (name, plan, language), empty when none."""
        ...

    def update_profile(self, user_id: str, facts: Mapping[str, str]) -> None: ...

    def purge(self, older_than: datetime) -> int:
        """Delete conversations with no message since `older_than`; the number deleted."""
        ...

    def export(self, rated_only: bool = False) -> Iterator[dict[str, Any]]:
        """Every conversation in the export format (module docstring), oldest first."""
        ...


@dataclass
class _StoredMessage:
    id: int
    role: Role
    content: str
    created_at: datetime
    citations: tuple[str, ...] = ()
    kind: ReplyKind | None = None
    retrieval_score: float | None = None
    latency_ms: float | None = None
    rating: Rating | None = None
    feedback: str | None = None

    @property
    def remembered(self) -> bool:
        return self.kind is None or self.kind in REMEMBERED_KINDS


@dataclass
class _Conversation:
    id: str
    user_id: str
    channel: str
    started_at: datetime
    updated_at: datetime
    messages: list[_StoredMessage] = field(default_factory=list)
    reset_after: int = 0
    handed_off: bool = False


def export_record(
    conversation_id: str, user_id: str, channel: str, started_at: datetime, messages: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "channel": channel,
        "started_at": started_at.isoformat(),
        "messages": list(messages),
    }


def export_message(
    role: str,
    content: str,
    created_at: datetime,
    rating: str | None,
    feedback: str | None,
    citations: Sequence[str],
    kind: str | None,
    retrieval_score: float | None = None,
    latency_ms: float | None = None,
) -> dict[str, Any]:
    return {
        "role": role,
        "content": content,
        "created_at": created_at.isoformat(),
        "rating": rating,
        "feedback": feedback,
        "citations": list(citations),
        "kind": kind,
        "retrieval_score": retrieval_score,
        "latency_ms": latency_ms,
    }


class InMemoryConversationStore:
    """Keeps conversations in this process only; for tests, the terminal and single-worker demos."""

    def __init__(self) -> None:
        self._conversations: dict[str, _Conversation] = {}
        self._profiles: dict[str, dict[str, str]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def history(self, conversation_id: str, limit: int = 20) -> list[ChatMessage]:
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None or limit <= 0:
                return []
            visible = [m for m in conversation.messages if m.id > conversation.reset_after and m.remembered]
            return [ChatMessage(m.role, m.content) for m in visible[-limit:]]

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
        now = utc_now()
        with self._lock:
            conversation = self._conversations.setdefault(
                conversation_id, _Conversation(conversation_id, user_id, channel, now, now)
            )
            stored = _StoredMessage(
                next(self._ids), role, content, now, tuple(citations), kind, retrieval_score, latency_ms
            )
            conversation.messages.append(stored)
            conversation.updated_at = now

    def reset(self, conversation_id: str) -> None:
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is not None and conversation.messages:
                conversation.reset_after = conversation.messages[-1].id

    def rate_last_answer(self, conversation_id: str, user_id: str, rating: Rating, text: str | None = None) -> bool:
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            answers = [m for m in conversation.messages if m.role == "assistant"] if conversation else []
            if not answers:
                return False
            answers[-1].rating, answers[-1].feedback = rating, text or None
            return True

    def start_handoff(self, conversation_id: str, user_id: str, channel: str, reason: str = "") -> None:
        now = utc_now()
        with self._lock:
            conversation = self._conversations.setdefault(
                conversation_id, _Conversation(conversation_id, user_id, channel, now, now)
            )
            conversation.handed_off = True

    def release_handoff(self, conversation_id: str) -> bool:
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None or not conversation.handed_off:
                return False
            conversation.handed_off = False
            return True

    def handed_off(self, conversation_id: str) -> bool:
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            return conversation is not None and conversation.handed_off

    def warm_up(self) -> None:
        """Nothing to prepare in memory."""

    def profile(self, user_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self._profiles.get(user_id, {}))

    def update_profile(self, user_id: str, facts: Mapping[str, str]) -> None:
        with self._lock:
            known = self._profiles.setdefault(user_id, {})
            known.update({key: str(value) for key, value in facts.items() if key in PROFILE_FACTS and value})

    def purge(self, older_than: datetime) -> int:
        with self._lock:
            stale = [cid for cid, c in self._conversations.items() if c.updated_at < older_than]
            for cid in stale:
                del self._conversations[cid]
            return len(stale)

    def export(self, rated_only: bool = False) -> Iterator[dict[str, Any]]:
        with self._lock:
            conversations = sorted(self._conversations.values(), key=lambda c: c.started_at)
            records = []
            for c in conversations:
                if rated_only and not any(m.rating for m in c.messages if m.role == "assistant"):
                    continue
                messages = [
                    export_message(
                        m.role,
                        m.content,
                        m.created_at,
                        m.rating,
                        m.feedback,
                        m.citations,
                        m.kind,
                        m.retrieval_score,
                        m.latency_ms,
                    )
                    for m in c.messages
                    if m.role in {"user", "assistant"}
                ]
                records.append(export_record(c.id, c.user_id, c.channel, c.started_at, messages))
        yield from records
