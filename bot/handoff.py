"""Telling people that a customer asked for one: a `HandoffNotice`, handed to the listeners of `HandoffNotices`.

The `/human` command (`bot.stages.commands`) marks the conversation handed off in the store and then announces a
notice here. The bot layer does not send it anywhere itself: a channel that can deliver notices registers a listener
(`deskbot serve` and `deskbot discord` queue each one on their durable delivery queue, which POSTs it, signed and
retried, to `conversation.handoff_webhook_url`: `adapters.http.handoff_notices`). With no listener (the terminal)
the notice is only logged; the conversation is handed off in the store either way, where the operator console sees
it.

A notice's JSON (`HandoffNotice.payload`) is `{"event": "handoff", "text", "conversation_id", "user_id", "channel",
"reason", "requested_at"}`; a Slack incoming-webhook URL works as is because it carries a `text` line. A listener
that fails is logged, never shown to the customer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandoffNotice:
    conversation_id: str
    user_id: str
    channel: str
    reason: str
    requested_at: datetime

    def payload(self) -> dict[str, Any]:
        """The notice as the webhook receives it (module docstring)."""
        return {
            "event": "handoff",
            "text": f"A customer on {self.channel} asked for a person (conversation {self.conversation_id}).",
            "conversation_id": self.conversation_id,
            "user_id": self.user_id,
            "channel": self.channel,
            "reason": self.reason,
            "requested_at": self.requested_at.isoformat(),
        }


HandoffListener = Callable[[HandoffNotice], Awaitable[None]]


class HandoffNotices:
    """The listeners that deliver handoff notices; one instance per runtime, shared by its stages and channels."""

    def __init__(self) -> None:
        self._listeners: list[HandoffListener] = []

    def listen(self, listener: HandoffListener) -> None:
        """Await `listener(notice)` for every handoff (it should only queue the notice, not send it)."""
        self._listeners.append(listener)

    async def announce(self, notice: HandoffNotice) -> None:
        """Hand `notice` to every listener; one that fails is logged and the others still get it."""
        if not self._listeners:
            log.info("handoff in conversation %s (no channel here delivers handoff notices)", notice.conversation_id)
            return
        for listener in self._listeners:
            try:
                await listener(notice)
            except Exception:
                log.exception("handoff listener %r failed for conversation %s", listener, notice.conversation_id)
