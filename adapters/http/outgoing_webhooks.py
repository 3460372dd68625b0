"""Outgoing webhooks: every reply (API, Slack, incoming webhooks) is POSTed as `{"type": "reply", "message", "reply"}`
to each `[webhooks] outgoing_urls`, signed (`webhook_signing`), retried with exponential backoff on network errors,
429 and 5xx."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import httpx

from adapters.http.webhook_signing import signature_headers
from bot.presentation import reply_json
from bot.types import Message, Reply

if TYPE_CHECKING:
    from adapters.http.background import BackgroundWork

log = logging.getLogger(__name__)


def reply_payload(message: Message, reply: Reply) -> dict[str, Any]:
    return {
        "type": "reply",
        "message": {
            "text": message.text,
            "user_id": message.user_id,
            "conversation_id": message.conversation_id,
            "channel": message.channel,
        },
        "reply": {**reply_json(reply), "kind": reply.kind},
    }


class OutgoingWebhooks:
    def __init__(
        self, urls: list[str], secret: str, max_attempts: int = 5, backoff_s: float = 1.0, timeout_s: float = 10.0
    ) -> None:
        self.urls = list(urls)
        self._secret = secret
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._client = httpx.AsyncClient(timeout=timeout_s)

    def announce(self, message: Message, reply: Reply, background: BackgroundWork) -> None:
        if reply.kind == "silent":
            return
        body = json.dumps(reply_payload(message, reply), ensure_ascii=False).encode()
        for url in self.urls:
            background.spawn(self.deliver(url, body), name="outgoing-webhook")

    async def deliver(self, url: str, body: bytes) -> bool:
        """POST `body` to `url`, retrying with exponential backoff; True once it is accepted (2xx)."""
        delay = self._backoff_s
        for attempt in range(1, self._max_attempts + 1):
            headers = {"Content-Type": "application/json", **signature_headers(self._secret, body)}
            try:
                response = await self._client.post(url, content=body, headers=headers)
            except httpx.HTTPError as error:
                outcome = error.__class__.__name__
            else:
                if response.is_success:
                    return True
                if response.status_code != 429 and response.status_code < 500:
                    log.error("outgoing webhook %s refused the delivery: HTTP %s", url, response.status_code)
                    return False
                outcome = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    delay = max(delay, float(retry_after))
            if attempt < self._max_attempts:
                log.warning("outgoing webhook %s: %s (attempt %d), retrying in %.1fs", url, outcome, attempt, delay)
                await asyncio.sleep(delay)
                delay *= 2
        log.error("outgoing webhook %s: gave up after %d attempts", url, self._max_attempts)
        return False

    async def close(self) -> None:
        await self._client.aclose()
