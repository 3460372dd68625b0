"""Telling people that a customer asked for one: a JSON POST to `conversation.handoff_webhook_url`.

The payload is `{"event": "handoff", "conversation_id", "user_id", "channel", "reason", "requested_at"}`; a Slack
incoming webhook URL works as is because the payload also carries a `text` line. A failed notice is logged, never
shown to the customer: the conversation is marked handed off in the store either way.
"""

from __future__ import annotations

import logging
from datetime import datetime

log = logging.getLogger(__name__)


class WebhookNotifier:
    def __init__(self, url: str | None, timeout_s: float = 5.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    async def handoff(self, conversation_id: str, user_id: str, channel: str, reason: str, when: datetime) -> bool:
        """POST the notice; True when the webhook accepted it (2xx), False when none is configured or it failed."""
        if not self.url:
            log.info("handoff in conversation %s (no webhook configured)", conversation_id)
            return False
        import httpx

        payload = {
            "event": "handoff",
            "text": f"A customer on {channel} asked for a person (conversation {conversation_id}).",
            "conversation_id": conversation_id,
            "user_id": user_id,
            "channel": channel,
            "reason": reason,
            "requested_at": when.isoformat(),
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.url, json=payload)
            response.raise_for_status()
        except httpx.HTTPError as error:
            log.error("handoff webhook failed for conversation %s: %s", conversation_id, error.__class__.__name__)
            return False
        return True
