"""The engine's value types. Adapters translate network payloads to and from these; no SDK object crosses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from knowledge.documents import SearchHit

Role = Literal["system", "user", "assistant"]
# "human": a reply an operator wrote in the console (stored as the assistant's, with the operator's name).
ReplyKind = Literal[
    "answer", "composed", "faq", "abstain", "command", "guard", "blocked", "handoff", "error", "silent", "human"
]


def new_conversation_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Message:
    """One incoming user message, from any channel."""

    text: str
    user_id: str = "anonymous"
    conversation_id: str = field(default_factory=new_conversation_id)
    channel: str = "api"
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation as the LLM sees it."""

    role: Role
    content: str


@dataclass(frozen=True)
class Citation:
    """A knowledge document an answer drew on; `number` is its [n] in the answer's context."""

    id: str
    title: str
    source: str
    score: float
    number: int = 0


@dataclass(frozen=True)
class Reply:
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    handoff: bool = False
    conversation_id: str = ""
    latency_ms: float = 0.0
    kind: ReplyKind = "answer"
    ttft_ms: float | None = None
    corrected: bool = False
    """The text streamed so far was withdrawn: a generated reply failed its claim check and this one replaced it."""


@dataclass(frozen=True)
class TextDelta:
    """A piece of a reply's text, streamed as the model writes it."""

    text: str


StreamEvent = TextDelta | Reply
Emit = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class SentenceCheck:
    """A check each sentence of a generated reply passes before it is streamed (`bot.sentence_release`).

    `problem(sentence, reply so far ending with it)` says what is wrong with it, or None when nothing is."""

    name: str
    problem: Callable[[str, str], str | None]


@dataclass
class Turn:
    """The working state of one message as it passes through the stages.

    Stages read what earlier stages put here (history, query, hits) and add their own; the message itself is frozen.
    """

    message: Message
    history: list[ChatMessage] = field(default_factory=list)
    query: str = ""
    hits: list[SearchHit] = field(default_factory=list)
    profile: dict[str, str] = field(default_factory=dict)
    emit: Emit | None = None
    checks: list[SentenceCheck] = field(default_factory=list)
    """Checks that stages around the answering one add for its generated sentences (the output guard's)."""
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0

    async def send(self, text: str) -> None:
        """Stream a piece of the reply to the channel, when the channel streams."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        if self.emit is not None and text:
            await self.emit(text)
