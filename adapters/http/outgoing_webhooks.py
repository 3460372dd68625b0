"""Outgoing webhooks: every reply (API, Slack, incoming webhooks) is POSTed as `{"type": "reply", "message", "reply"}`
to each `[webhooks] outgoing_urls`, signed (`webhook_signing`), and so is every reply an operator wrote in the console,
as `{"type": "operator_reply", "conversation_id", "channel", "message_id", "text", "operator"}`
(`announce_operator_reply`, from `adapters.http.operator_delivery`).

An announcement goes through the durable delivery queue like a Slack reply (`adapters.http.deliveries`): `announce`
queues one job per URL, source `outgoing`, with the reply already kept in it, so an answer worker (in any process)
only delivers it: one POST per attempt (`post`), and a network error, a 429 or a 5xx is retried with the queue's
backoff (`[server] delivery_attempts`, `retry_backoff_s`); another 4xx is given up at once. After the last attempt
the job stays as the record of an undelivered reply and is counted in `deskbot_undelivered_replies_total`. A crash
loses nothing once the job is queued; a crash between the reply and its queueing loses that one announcement. An
operator reply's announcements are queued under ids made of its message id and the URL, so queueing them again (the
operator job retried) adds none. `post_signed` is the one signed POST, which handoff notices use too
(`adapters.http.handoff_notices`).
"""

from __future__ import annotations

import hashlib
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

    async def announce_operator_reply(self, reply: Mapping[str, Any], context: ChannelContext) -> None:
        """Queue the announcement of an operator's reply (`operator_delivery.OperatorReply.payload`) to every URL;
        a repeat for the same message queues nothing. `StoreError` when the queue cannot take it."""
        announcement = {"type": "operator_reply", **reply}
        for url in self.urls:
            url_digest = hashlib.sha256(url.encode()).hexdigest()[:16]
            delivery_id = f"operator-reply:{reply['message_id']}:{url_digest}"
            job = {"url": url, "announcement": announcement}
            await context.submit(SOURCE, delivery_id, job, reply_record(Reply(text="", kind="silent")))

    async def post(self, job: Mapping[str, Any], reply: Reply) -> None:
        """One signed POST of a queued announcement (a reply's, or the `announcement` it carries as it is);
        `DeliveryFailedError` when it was not accepted (2xx)."""
        body = job["announcement"] if "announcement" in job else reply_payload(job["message"], reply)
        await post_signed(self._client, str(job["url"]), body, self._secret)

    async def close(self) -> None:
        await self._client.aclose()


async def post_signed(client: httpx.AsyncClient, url: str, body: Mapping[str, Any], secret: str | None) -> None:
    """POST `body` as JSON, signed with `secret` (unsigned when None); `DeliveryFailedError` when it was not
    accepted (2xx): retryable for a network error, a 429 or a 5xx, permanent for any other status."""
    content = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers.update(signature_headers(secret, content))
    try:
        response = await client.post(url, content=content, headers=headers)
    except httpx.HTTPError as error:
        raise DeliveryFailedError(f"webhook {url}: {error.__class__.__name__}") from error
    if response.is_success:
        return
    retryable = response.status_code == 429 or response.status_code >= 500
    raise DeliveryFailedError(f"webhook {url}: HTTP {response.status_code}", permanent=not retryable)


async def already_answered(_job: Mapping[str, Any]) -> Reply:
    """The answer step of an announcement, which is queued with its reply kept (`announce`): never needed."""
    raise DeliveryFailedError("an outgoing webhook job lost the reply it was queued with", permanent=True)
