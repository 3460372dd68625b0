"""Generic signed webhooks, for systems that are not Slack.

Signature (both directions): header `X-Deskbot-Timestamp: <unix seconds>` and
`X-Deskbot-Signature: v1=<hex HMAC-SHA256 of "v1:<timestamp>:<body>" with [webhooks] secret>`; a timestamp more than
5 minutes away is refused, like Slack's.

Incoming: `POST /webhooks/incoming` with `{"id", "text", "user_id"?, "conversation_id"?}` is acknowledged with 202,
de-duplicated on `id`, and answered in the background; the reply goes out through the outgoing webhooks.
Outgoing: every reply (API, Slack, incoming webhooks) is POSTed as `{"type": "reply", "message", "reply"}` to each
`[webhooks] outgoing_urls`, retried with exponential backoff on network errors, 429 and 5xx.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field, ValidationError

from adapters.http.context import ChannelContext, channel_context
from adapters.http.payloads import parse_json_object
from bot.pii import redact_message
from bot.types import Message, Reply, new_conversation_id

if TYPE_CHECKING:
    from adapters.http.background import BackgroundWork

log = logging.getLogger(__name__)

REPLAY_WINDOW_S = 300
TIMESTAMP_HEADER = "X-Deskbot-Timestamp"
SIGNATURE_HEADER = "X-Deskbot-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def signature_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def is_signed(secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None) -> bool:
    timestamp, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > REPLAY_WINDOW_S:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def reply_payload(message: Message, reply: Reply) -> dict[str, Any]:
    return {
        "type": "reply",
        "message": {
            "text": message.text,
            "user_id": message.user_id,
            "conversation_id": message.conversation_id,
            "channel": message.channel,
        },
        "reply": {
            "answer": reply.text,
            "citations": [
                {"id": c.id, "title": c.title, "source": c.source, "score": c.score} for c in reply.citations
            ],
            "abstained": reply.abstained,
            "handoff": reply.handoff,
            "kind": reply.kind,
            "conversation_id": reply.conversation_id,
            "latency_ms": round(reply.latency_ms, 1),
        },
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


class IncomingMessage(BaseModel):
    id: str = Field(min_length=1, max_length=200, description="Unique delivery id; repeats are ignored.")
    text: str = Field(min_length=1, max_length=20_000)
    user_id: str | None = Field(None, max_length=200)
    conversation_id: str | None = Field(None, max_length=200)


async def verified_webhook_body(request: Request) -> bytes:
    secret = request.app.state.deskbot.settings.webhooks.secret
    body = await request.body()
    if secret is None or not is_signed(secret.get_secret_value(), body, request.headers):
        log.warning("refused an incoming webhook with a missing, wrong or stale signature")
        raise HTTPException(401, "invalid webhook signature")
    return body


router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("/incoming", status_code=202)
async def incoming(
    body: Annotated[bytes, Depends(verified_webhook_body)],
    context: Annotated[ChannelContext, Depends(channel_context)],
) -> Response:
    """A signed message from another system; the reply is delivered to the outgoing webhooks."""
    try:
        incoming_message = IncomingMessage.model_validate(parse_json_object(body))
    except ValidationError as error:
        raise HTTPException(422, error.errors(include_url=False, include_context=False)) from error
    message = Message(
        text=incoming_message.text,
        user_id=incoming_message.user_id or "webhook",
        conversation_id=incoming_message.conversation_id or new_conversation_id(),
        channel="webhook",
        metadata={"delivery_id": incoming_message.id},
    )
    message = redact_message(message, context.settings.guard)  # before it is queued, when `[guard] redact_pii`
    if not await context.submit("webhook", incoming_message.id, asdict(message)):
        return Response(status_code=200)
    return Response(status_code=202)


async def answer_webhook_job(context: ChannelContext, payload: dict[str, Any]) -> None:
    """The answer worker's handler for queued incoming messages: the reply goes to the outgoing webhooks."""
    await context.answer(Message(**payload))
