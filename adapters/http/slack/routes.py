"""The Slack endpoints: `/slack/events`, `/slack/commands`, `/slack/interactions`.

Each request is verified first (`verified_slack_request`), validated into its typed shape (`shapes`), queued in the
database and acknowledged at once; an answer worker replies later (`answer_slack_job`). A verified payload Deskbot
does not handle is answered 200 `{"ok": true, "ignored": REASON}` and logged once (`ignore_unexpected_payload`): Slack
retries every other status. Each request is queued under one delivery id (`delivery_id`), so Slack's retries
(`X-Slack-Retry-Num`), replays and several workers answer each request once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from adapters.http.context import ChannelContext, channel_context
from adapters.http.slack.shapes import (
    UnexpectedPayloadError,
    UrlVerification,
    read_events,
    read_interaction,
    read_slash_command,
)
from adapters.http.slack.translation import (
    SlackTurn,
    turn_from_event,
    turn_from_interaction,
    turn_from_slash_command,
)
from adapters.http.slack.verification import SignedSlackRequest, verified_slack_request
from bot.pii import redact_message
from bot.types import Reply

log = logging.getLogger(__name__)

router = APIRouter(prefix="/slack", tags=["slack"], dependencies=[Depends(verified_slack_request)])

Signed = Annotated[SignedSlackRequest, Depends(verified_slack_request)]
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


def delivery_id(request: SignedSlackRequest, declared: str | None) -> str:
    """The id a Slack request is queued under, once: the id Slack gives it (an event's `event_id`, the same in
    every retry; a command's or click's `trigger_id`, unique per use), else the digest of the signed request, which a
    replay shares and no other request does."""
    return declared or f"sha256:{request.digest}"


def _ignored(reason: str) -> Response:
    return JSONResponse({"ok": True, "ignored": reason})


async def ignore_unexpected_payload(request: Request, error: Exception) -> Response:
    """The app's answer to `UnexpectedPayloadError`: 200 (Slack retries anything else) and one log line."""
    assert isinstance(error, UnexpectedPayloadError)
    log.warning("ignored a Slack request to %s: %s", request.url.path, error.reason)
    return _ignored(error.reason)


@router.post("/events")
async def events(signed: Signed, context: Context) -> Response:
    """Events API: url_verification, app mentions, direct messages, replies in the bot's threads."""
    payload = read_events(signed.body)
    if isinstance(payload, UrlVerification):
        return JSONResponse({"challenge": payload.challenge})
    turn = turn_from_event(payload)
    if turn is None:
        return _ignored("not for the bot")
    if not await _answer_later(context, turn, delivery_id(signed, payload.event_id)):
        return _ignored("duplicate")
    return JSONResponse({"ok": True})


@router.post("/commands")
async def commands(signed: Signed, context: Context) -> Response:
    """Slash command (`/deskbot QUESTION`, `/deskbot reset`, ...); the answer comes through its response_url."""
    command = read_slash_command(signed.body)
    await _answer_later(context, turn_from_slash_command(command), delivery_id(signed, command.trigger_id))
    return Response(status_code=200)


@router.post("/interactions")
async def interactions(signed: Signed, context: Context) -> Response:
    """Button clicks on replies (good / bad answer, talk to a person)."""
    interaction = read_interaction(signed.body)
    turn = turn_from_interaction(interaction)
    if turn is not None:
        await _answer_later(context, turn, delivery_id(signed, interaction.trigger_id))
    return Response(status_code=200)
