"""The Slack endpoints: `/slack/events`, `/slack/commands`, `/slack/interactions`.

Each request is verified first (`verified_slack_body`), queued in the database and acknowledged at once; an answer
worker replies later (`answer_slack_job`). Events are de-duplicated by `event_id` as they are queued, so Slack's
retries (`X-Slack-Retry-Num`) and several workers answer each event once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.responses import JSONResponse

from adapters.http.context import ChannelContext, channel_context
from adapters.http.payloads import parse_form, parse_json_object
from adapters.http.slack.translation import (
    SlackTurn,
    turn_from_event,
    turn_from_interaction,
    turn_from_slash_command,
)
from adapters.http.slack.verification import verified_slack_body
from bot.pii import redact_message
from bot.types import Reply

log = logging.getLogger(__name__)

router = APIRouter(prefix="/slack", tags=["slack"], dependencies=[Depends(verified_slack_body)])

SignedBody = Annotated[bytes, Depends(verified_slack_body)]
Context = Annotated[ChannelContext, Depends(channel_context)]


async def answer_slack_job(context: ChannelContext, payload: dict[str, Any]) -> Reply:
    """The answer worker's `answer` step for queued Slack turns: the engine's reply."""
    return await context.responder.reply(SlackTurn.from_payload(payload).message)


async def deliver_slack_reply(context: ChannelContext, payload: dict[str, Any], reply: Reply) -> None:
    """The answer worker's `deliver` step: post the reply (`DeliveryFailedError` when Slack did not take it)."""
    target = SlackTurn.from_payload(payload).target
    if context.slack is None:
        log.warning("no [slack] bot_token: the reply in %s is not sent", target.channel)
        return
    await context.slack.send(target, reply)


async def _answer_later(context: ChannelContext, turn: SlackTurn, delivery_id: str) -> bool:
    """Queue the turn, its text redacted first when `[guard] redact_pii` (the queue is storage too)."""
    turn = replace(turn, message=redact_message(turn.message, context.settings.guard))
    return await context.submit("slack", delivery_id, turn.to_payload())


def delivery_id_of(payload: Mapping[str, Any]) -> str:
    """Slash commands and clicks are not retried by Slack; their `trigger_id` (unique per use) still keys them."""
    return str(payload.get("trigger_id") or uuid.uuid4().hex)


@router.post("/events")
async def events(body: SignedBody, context: Context) -> Response:
    """Events API: url_verification, app mentions, direct messages, replies in the bot's threads."""
    payload = parse_json_object(body)
    kind = payload.get("type")
    if kind == "url_verification":
        return JSONResponse({"challenge": str(payload.get("challenge", ""))})
    if kind != "event_callback":
        return JSONResponse({"ok": True, "ignored": f"payload type {kind!r}"})
    turn = turn_from_event(payload)
    if turn is None:
        return JSONResponse({"ok": True, "ignored": "not for the bot"})
    event_id = str(payload.get("event_id") or "")
    if not event_id:
        raise HTTPException(400, "event_callback without event_id")
    if not await _answer_later(context, turn, event_id):
        return JSONResponse({"ok": True, "ignored": "duplicate"})
    return JSONResponse({"ok": True})


@router.post("/commands")
async def commands(body: SignedBody, context: Context) -> Response:
    """Slash command (`/deskbot QUESTION`, `/deskbot reset`, ...); the answer comes through its response_url."""
    form = parse_form(body)
    turn = turn_from_slash_command(form)
    if turn is None:
        raise HTTPException(400, "slash command without channel_id or user_id")
    await _answer_later(context, turn, delivery_id_of(form))
    return Response(status_code=200)


@router.post("/interactions")
async def interactions(body: SignedBody, context: Context) -> Response:
    """Button clicks on replies (good / bad answer, talk to a person)."""
    form = parse_form(body)
    if "payload" not in form:
        raise HTTPException(400, "interaction without payload")
    interaction = parse_json_object(form["payload"])
    turn = turn_from_interaction(interaction)
    if turn is not None:
        await _answer_later(context, turn, delivery_id_of(interaction))
    return Response(status_code=200)
