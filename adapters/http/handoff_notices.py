"""Handoff notices through the durable delivery queue: signed, retried with backoff, recorded when undelivered.

`/human` announces a `bot.handoff.HandoffNotice` on the runtime's `HandoffNotices`; `HandoffWebhook.listen_to`
registers `queue` there, which stores one job (source `handoff`) holding the notice's JSON and
`conversation.handoff_webhook_url` before the customer's reply is sent. An answer worker (any process on the same
queue) delivers it with `post`: one POST per attempt, signed with `[webhooks] secret` (`webhook_signing`; unsigned
when no secret is set, so a Slack incoming-webhook URL keeps working, with a warning at start). A network error, a
429 or a 5xx is retried with the queue's backoff (`[server] delivery_attempts`, `retry_backoff_s`), another 4xx is
given up at once; a given-up notice stays in `Deliveries.undelivered()` and is counted in
`deskbot_undelivered_replies_total{source="handoff"}`.

`deskbot serve` (its HTTP workers and answer processes) and `deskbot discord` both queue and deliver notices. The
terminal registers no listener: there the notice is only logged (`bot.handoff`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from adapters.http.deliveries import Deliveries
from adapters.http.outgoing_webhooks import post_signed
from adapters.http.settings import WebhookSettings
from bot.config import Settings
from bot.handoff import HandoffNotice, HandoffNotices
from bot.types import Reply

log = logging.getLogger(__name__)

SOURCE = "handoff"


class HandoffWebhook:
    """Queues each notice for `url` and POSTs the queued ones (signed with `secret`, unless None)."""

    def __init__(self, deliveries: Deliveries, url: str, secret: str | None, timeout_s: float = 10.0) -> None:
        self._deliveries = deliveries
        self.url = url
        self._secret = secret
        self._client = httpx.AsyncClient(timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings, deliveries: Deliveries) -> HandoffWebhook | None:
        """The webhook of `conversation.handoff_webhook_url`; None when none is set."""
        url = settings.conversation.handoff_webhook_url
        if not url:
            return None
        hooks = settings.section(WebhookSettings)
        if hooks.secret is None:
            log.warning("[webhooks] secret is not set: handoff notices to %s are sent unsigned", url)
        secret = hooks.secret.get_secret_value() if hooks.secret is not None else None
        return cls(deliveries, url, secret, hooks.timeout_s)

    def listen_to(self, notices: HandoffNotices) -> None:
        notices.listen(self.queue)

    async def queue(self, notice: HandoffNotice) -> None:
        """Store the notice's delivery on the queue (`StoreError` when it cannot: logged by `HandoffNotices`)."""
        job = {"url": self.url, "notice": notice.payload()}
        await asyncio.to_thread(self._deliveries.submit, SOURCE, uuid.uuid4().hex, job)

    async def post(self, job: Mapping[str, Any], _reply: Reply) -> None:
        """The deliver step of a queued notice: one (signed) POST; `DeliveryFailedError` when not accepted."""
        await post_signed(self._client, str(job["url"]), job["notice"], self._secret)

    async def close(self) -> None:
        await self._client.aclose()
