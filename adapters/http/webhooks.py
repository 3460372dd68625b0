"""Generic signed webhooks, for systems that are not Slack (signature: `adapters.http.webhook_signing`).

Incoming: `POST /webhooks/incoming` with `{"id", "text", "user_id"?, "conversation_id"?}` is acknowledged with 202,
de-duplicated on `id`, and answered in the background; the reply goes out through the outgoing webhooks. The sender
is a principal like an API key (`adapters.http.principals`): the ids it sends are stored inside its namespace
(`webhook:incoming:<id>`), so a signed webhook cannot name a Slack thread or an API key's conversation either.
Outgoing: every reply is POSTed to `[webhooks] outgoing_urls` (`adapters.http.outgoing_webhooks`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field, ValidationError

from adapters.http.context import ChannelContext, channel_context
from adapters.http.payloads import parse_json_object, validation_problems
from adapters.http.principals import MAX_CALLER_ID_CHARS, Principal
from adapters.http.webhook_signing import is_signed
from bot.pii import redact_message
from bot.types import Message, Reply

log = logging.getLogger(__name__)


class IncomingMessage(BaseModel):
    id: str = Field(min_length=1, max_length=200, description="Unique delivery id; repeats are ignored.")
    text: str = Field(min_length=1, max_length=20_000)
    user_id: str | None = Field(None, max_length=MAX_CALLER_ID_CHARS)
    conversation_id: str | None = Field(None, max_length=MAX_CALLER_ID_CHARS)


WEBHOOK_SENDER = Principal("webhook", "incoming")
"""Whoever holds `[webhooks] secret`: one sender, with its own namespace of conversations and customers."""


async def verified_webhook_body(request: Request) -> bytes:
    context: ChannelContext = request.app.state.deskbot
    secret = context.webhook_settings.secret
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
        raise HTTPException(422, validation_problems(error.errors())) from error
    message = WEBHOOK_SENDER.message(
        incoming_message.text,
        incoming_message.conversation_id,
        incoming_message.user_id,
        channel="webhook",
        metadata={"delivery_id": incoming_message.id},
    )
    message = redact_message(message, context.settings.guard)  # before it is queued, when `[guard] redact_pii`
    if not await context.submit("webhook", incoming_message.id, asdict(message)):
        return Response(status_code=200)
    return Response(status_code=202)


async def answer_webhook_job(context: ChannelContext, payload: dict[str, Any]) -> Reply:
    """The answer worker's `answer` step for queued incoming messages; the responder's listener hands the reply to
    the outgoing webhooks."""
    return await context.responder.reply(Message(**payload))
