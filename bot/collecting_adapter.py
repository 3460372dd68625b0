"""`CollectingAdapter`: a channel for tests that sends messages through the responder and keeps what came back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.adapter import AdapterContext
from bot.types import Message, Reply, TextDelta


@dataclass
class Exchange:
    message: Message
    reply: Reply
    deltas: list[str] = field(default_factory=list)


class CollectingAdapter:
    """Answers `send(text)` through the one answer path, streaming, and records each exchange."""

    def __init__(self, context: AdapterContext, channel: str = "test", user_id: str = "tester") -> None:
        self.context = context
        self.channel = channel
        self.user_id = user_id
        self.exchanges: list[Exchange] = []

    def run(self, **_options: Any) -> None:
        """Nothing to serve: a test drives it with `send`."""

    async def send(self, text: str, conversation_id: str = "collecting") -> Reply:
        message = Message(text=text, user_id=self.user_id, conversation_id=conversation_id, channel=self.channel)
        deltas: list[str] = []
        reply: Reply | None = None
        async for event in self.context.responder.stream(message):
            if isinstance(event, TextDelta):
                deltas.append(event.text)
            else:
                reply = event
        assert reply is not None, "Responder.stream always ends with a Reply"
        self.exchanges.append(Exchange(message, reply, deltas))
        return reply

    @property
    def replies(self) -> list[Reply]:
        return [exchange.reply for exchange in self.exchanges]
