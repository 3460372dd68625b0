"""Outgoing webhooks: every reply (API, Slack, incoming webhooks) is POSTed as `{"type": "reply", "message", "reply"}`
to each `[webhooks] outgoing_urls`, signed (`webhook_signing`).

An announcement goes through the durable delivery queue like a Slack reply (`adapters.http.deliveries`): `announce`
queues one job per URL, source `outgoing`, with the reply already kept in it, so an answer worker (in any process)
only delivers it: one POST per attempt (`post`), and a network error, a 429 or a 5xx is retried with the queue's
backoff (`[server] delivery_attempts`, `retry_backoff_s`); another 4xx is given up at once. After the last attempt
the job stays as the record of an undelivered reply and is counted in `deskbot_undelivered_replies_total`. A crash
loses nothing once the job is queued; a crash between the reply and its queueing loses that one announcement.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from adapters.http.answer_worker import reply_record
from adapters.http.deliveries import DeliveryFailedError
from adapters.http.webhook_signing import signature_headers
from bot.presentation import reply_json
from bot.store.database import StoreError
from bot.types import Message, Reply

if TYPE_CHECKING:
    from adapters.http.context import ChannelContext

log = logging.getLogger(__name__)

SOURCE = "outgoing"


def message_fields(message: Message) -> dict[str, str]:
    return {
        "text": message.text,
        "user_id": message.user_id,
        "conversation_id": message.conversation_id,
        "channel": message.channel,
    }


def reply_payload(message: Mapping[str, str], reply: Reply) -> dict[str, Any]:
    """The announcement of `reply` to `message` (its `message_fields`)."""
    return {"type": "reply", "message": dict(message), "reply": {**reply_json(reply), "kind": reply.kind}}


class OutgoingWebhooks:
    def __init__(self, urls: list[str], secret: str, timeout_s: float = 10.0) -> None:
        self.urls = list(urls)
        self._secret = secret
        self._client = httpx.AsyncClient(timeout=timeout_s)

    def announce(self, message: Message, reply: Reply, context: ChannelContext) -> None:
        """Queue the reply's announcement to every URL (in the background: the reply is not held up)."""
        if reply.kind == "silent":
            return
        job = {"message": message_fields(message)}
        for url in self.urls:
            queued = context.submit(SOURCE, uuid.uuid4().hex, {**job, "url": url}, reply_record(reply))
            context.background.spawn(self._queued(url, queued), name="outgoing-webhook")

    async def _queued(self, url: str, queued: Awaitable[bool]) -> None:
        try:
            await queued
        except StoreError as error:
            log.error("outgoing webhook %s: the announcement cannot be queued (%s); it is not sent", url, error)

    async def post(self, job: Mapping[str, Any], reply: Reply) -> None:
        """One signed POST of a queued announcement; `DeliveryFailedError` when it was not accepted (2xx)."""
        url = str(job["url"])
        body = json.dumps(reply_payload(job["message"], reply), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **signature_headers(self._secret, body)}
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryFailedError(f"outgoing webhook {url}: {error.__class__.__name__}") from error
        if response.is_success:
            return
        retryable = response.status_code == 429 or response.status_code >= 500
        raise DeliveryFailedError(f"outgoing webhook {url}: HTTP {response.status_code}", permanent=not retryable)

    async def close(self) -> None:
        await self._client.aclose()


async def already_answered(_job: Mapping[str, Any]) -> Reply:
    """The answer step of an announcement, which is queued with its reply kept (`announce`): never needed."""
    raise DeliveryFailedError("an outgoing webhook job lost the reply it was queued with", permanent=True)
